/* Import job page: poll the job's status.json every second and move the progress bar; when the
   job has finished, reload the page to show its report. Without JavaScript the page offers a
   refresh link instead. */
(function () {
  "use strict";

  var box = document.querySelector("[data-import-status-url]");
  if (!box || box.getAttribute("data-finished") === "true" || !window.fetch) {
    return;
  }
  var url = box.getAttribute("data-import-status-url");
  var bar = document.getElementById("import-progress");
  var rows = box.querySelector("[data-import-rows]");
  var message = box.querySelector("[data-import-message]");
  var badge = box.querySelector("[data-import-badge] .badge");
  var TONES = {
    queued: "neutral",
    running: "blue",
    succeeded: "green",
    rejected: "vermillion",
    failed: "vermillion"
  };
  var INTERVAL_MS = 1000;
  var MAX_FAILURES = 10;
  var failures = 0;

  function show(data) {
    var percent = Math.max(0, Math.min(100, Number(data.progress_percent) || 0));
    if (bar) {
      bar.value = percent;
      bar.textContent = percent + "%";
    }
    if (rows) {
      var total = data.total_rows ? data.total_rows : "?";
      rows.textContent = data.processed_rows + " of " + total + " rows · " + percent + "%";
    }
    if (badge) {
      badge.textContent = data.status_label;
      badge.className = "badge badge-" + (TONES[data.status] || "neutral");
    }
  }

  function poll() {
    fetch(url, {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" }
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        failures = 0;
        show(data);
        if (data.finished) {
          if (message) {
            message.textContent = "Finished. Loading the report…";
          }
          window.location.reload();
        } else {
          window.setTimeout(poll, INTERVAL_MS);
        }
      })
      .catch(function () {
        failures += 1;
        if (failures >= MAX_FAILURES) {
          if (message) {
            message.textContent =
              "The progress could not be updated. Refresh the page to see the current state.";
          }
          return;
        }
        window.setTimeout(poll, INTERVAL_MS * Math.min(failures + 1, 5));
      });
  }

  window.setTimeout(poll, INTERVAL_MS);
})();
