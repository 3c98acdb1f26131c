// The export progress page: polls its status every 2 seconds and updates the figures; when the
// export is finished, the download link (or the failure's reason, or that it expired) appears
// and polling stops.
(function () {
  "use strict";
  var box = document.querySelector("[data-export-status]");
  if (!box) return;
  var url = box.getAttribute("data-export-status");
  var state = box.getAttribute("data-state");
  var finished = { done: true, failed: true, expired: true };
  if (finished[state]) return;

  function field(name) { return box.querySelector('[data-field="' + name + '"]'); }
  function show(status) {
    field("state_label").textContent = status.state_label;
    field("state_label").setAttribute("data-state", status.state);
    field("rows_done").textContent = String(status.rows_done);
    field("rows_total").textContent = String(status.rows_total);
    field("percent").textContent = String(status.percent);
    var bar = field("bar");
    bar.value = status.percent;
    bar.setAttribute("aria-label", "进度 " + status.percent + "%");
    if (finished[status.state]) {
      // The finished page has the size, the sheets and the expiry (or says it expired): load it.
      window.location.reload();
      return true;
    }
    return false;
  }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (r.status === 404) return "gone"; // expired or signed in as someone else: stop
        return r.ok ? r.json() : null;
      })
      .then(function (status) {
        if (status === "gone" || (status && show(status))) return;
        window.setTimeout(poll, 2000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
})();
