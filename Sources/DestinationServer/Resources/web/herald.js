// Herald's page: the event list follows new events without a reload (polling; no build
// step, no third-party code).
(function () {
  "use strict";
  var rows = document.getElementById("event-rows");
  if (!rows) { return; }
  var table = document.getElementById("events-table");
  var empty = document.getElementById("empty-state");
  var status = document.getElementById("live-status");
  var after = rows.getAttribute("data-after") || "0";
  var failures = 0;

  function poll() {
    fetch("/events/rows?after=" + encodeURIComponent(after), { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.status === 401 || response.redirected) { window.location = "/sign-in"; return null; }
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text().then(function (html) { return { html: html, latest: response.headers.get("X-Herald-Latest-Seq") }; });
      })
      .then(function (result) {
        if (!result) { return; }
        failures = 0;
        if (result.latest) { after = result.latest; }
        if (result.html.trim() === "") { return; }
        var template = document.createElement("template");
        template.innerHTML = result.html;
        var fresh = Array.prototype.slice.call(template.content.querySelectorAll("tr"));
        fresh.forEach(function (row) { row.classList.add("new"); });
        for (var i = fresh.length - 1; i >= 0; i--) { rows.insertBefore(fresh[i], rows.firstChild); }
        table.hidden = false;
        empty.hidden = true;
        status.textContent = fresh.length + " new event(s) arrived.";
      })
      .catch(function () {
        failures += 1;
        status.textContent = "Cannot reach Herald; retrying…";
      })
      .then(function () { window.setTimeout(poll, failures ? 5000 : 1500); });
  }
  window.setTimeout(poll, 1500);
}());
