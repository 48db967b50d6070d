#!/usr/bin/env python3
"""Writes the wrk Lua scripts `make bench` drives Herald with.

Events come from Segment's direct-tester corpus (Fixtures/segment-direct-tester), with
placeholders filled; each request gets fresh messageIds so nothing is deduplicated.
Usage: make_wrk_scripts.py OUT_DIR KEY
"""
import json, os, re, sys, glob, base64

out, key = sys.argv[1], sys.argv[2]
root = os.path.join(os.path.dirname(__file__), "..", "..", "Fixtures", "segment-direct-tester")
events = []
for path in sorted(glob.glob(os.path.join(root, "*.log"))):
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if not line:
            continue
        text = re.sub(r"\{\{\s*double\s*\}\}", "12.5", line)
        text = re.sub(r"\{\{\s*now\.utc\s*\}\}", "2026-11-23T10:00:00.000Z", text)
        text = re.sub(r"\{\{[^}]*\}\}", "bench-id", text)
        event = json.loads(text)
        event["messageId"] = "__MID__"
        event.pop("writeKey", None)
        events.append(json.dumps(event, separators=(",", ":")))

# Median-size events, as the targets are stated for (~1.4 KB).
events.sort(key=len)
median = len(events[len(events) // 2])
pick = [e for e in events if 0.75 * median <= len(e) <= 1.25 * median][:64]
auth = "Basic " + base64.b64encode((key + ":").encode()).decode()

def lua_list(items):
    parts = []
    for e in items:
        a, b = e.split("__MID__")
        parts.append("{%s,%s}" % (json.dumps(a), json.dumps(b)))
    return "{" + ",\n".join(parts) + "}"

common = """
local events = %s
local counter = 0
local prefix = ""
local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  prefix = "bench-" .. tostring(tid) .. "-" .. tostring(os.time()) .. "-"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = %s
end
local function event()
  counter = counter + 1
  local e = events[(counter %% #events) + 1]
  return e[1] .. prefix .. counter .. e[2]
end
""" % (lua_list(pick), json.dumps(auth))

with open(os.path.join(out, "single.lua"), "w") as f:
    f.write(common + """
function request()
  return wrk.format("POST", "/inbound/segment", nil, event())
end
""")

with open(os.path.join(out, "batch.lua"), "w") as f:
    f.write(common + """
function request()
  local parts = {}
  for i = 1, 100 do parts[i] = event() end
  return wrk.format("POST", "/v1/batch", nil, '{"batch":[' .. table.concat(parts, ",") .. '],"sentAt":"2026-11-23T10:00:01.000Z"}')
end
""")

# Webhooks (Actions) with batching on: a bare JSON array of 1,000 events to /inbound/segment
# (Segment's default batch size; 4,000 at most), about 1.4 MB a request.
with open(os.path.join(out, "actions.lua"), "w") as f:
    f.write(common + """
function request()
  local parts = {}
  for i = 1, 1000 do parts[i] = event() end
  return wrk.format("POST", "/inbound/segment", nil, '[' .. table.concat(parts, ",") .. ']')
end
""")

# Constant-rate variant: each connection waits DELAY ms between requests.
with open(os.path.join(out, "paced.lua"), "w") as f:
    f.write(common + """
local pause = tonumber(os.getenv("WRK_DELAY_MS") or "10")
function delay()
  return pause
end
function request()
  return wrk.format("POST", "/inbound/segment", nil, event())
end
""")
print(median)
