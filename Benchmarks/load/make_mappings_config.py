#!/usr/bin/env python3
"""Writes a herald.yaml with 1,000 mappings on event names nobody sends, plus a true and a
false mapping on each of the names the load sends most (track/Clicked, identify, page), so
the HTTP run measures ingest with a large configuration loaded and the engine starting runs.

Usage: make_mappings_config.py OUTPUT_FILE
"""
import sys

lines = [
    "channels:",
    "  inbox: { type: inbox }",
    "templates:",
    '  note: { channel: inbox, body: "Hello {{profile.firstName}}" }',
    "automations:",
    "  later: { steps: [ { delay: 1d }, { send: note } ] }",
    "mappings:",
]
for index in range(1000):
    lines.append(f"  - on: \"track/Unsent Event {index}\"")
    lines.append(f"    when: 'data.revenue > {index} && data.currency == \"usd\"'")
    lines.append("    run: later")
for name in ["track/Clicked", "identify", "page"]:
    lines.append(f"  - on: \"{name}\"")
    lines.append("    when: 'event.userId exists'")
    lines.append("    run: later")
    lines.append(f"  - on: \"{name}\"")
    lines.append("    when: 'data.never_sent == true'")
    lines.append("    run: later")
with open(sys.argv[1], "w") as output:
    output.write("\n".join(lines) + "\n")
