// jobs.js - a job's page (pages_jobs.c): while the job runs, asks /api/v1/jobs/{id} once a
// second and moves the progress bar, the counts, the estimate and the result; the page works
// without it (reload). Owner: src/web.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var panel = document.querySelector("[data-job][data-job-live]");
  if (!panel) return;
  var id = panel.getAttribute("data-job");
  function set(sel, text) { var e = panel.querySelector(sel); if (e) e.textContent = text; }
  function eta(s) {
    if (s === null || s === undefined) return "-";
    return s >= 120 ? "about " + Math.round(s / 60) + " min" : "about " + s + " s";
  }
  function poll() {
    fetch("/api/v1/jobs/" + encodeURIComponent(id), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) {
        if (!j) return;
        var bar = panel.querySelector("[data-job-bar]");
        if (bar) { bar.max = j.total > 0 ? j.total : 1; bar.value = j.total > 0 ? j.done : 0; }
        set("[data-job-count]", j.done + " of " + j.total);
        set("[data-job-eta]", eta(j.estimate_seconds));
        if (j.result) set("[data-job-result]", j.result);
        if (j.state === "running" || j.state === "queued") window.setTimeout(poll, 1000);
        else window.location.reload(); // the server renders the ended job (no Cancel button)
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
});
