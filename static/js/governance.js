/* Governance pages. The "Recompute metrics" button of the IT overview: POSTs to the metric-runs
   API with the page's CSRF token, then polls the same endpoint and shows the run's progress.
   The button stays hidden when the endpoint does not exist (404) or JavaScript is off. */
(function () {
  "use strict";

  var box = document.querySelector("[data-metrics-api]");
  if (!box || !window.fetch) {
    return;
  }
  var url = box.getAttribute("data-metrics-api");
  var button = box.querySelector("[data-recompute]");
  var status = box.querySelector("[data-recompute-status]");
  var bar = box.querySelector("progress");
  var tokenInput = document.querySelector("input[name=csrfmiddlewaretoken]");
  var token = tokenInput ? tokenInput.value : "";
  var INTERVAL_MS = 2000;
  var MAX_POLLS = 900;
  var waiting = false;

  function say(text) {
    if (status) {
      status.textContent = text;
    }
  }

  function latest(data) {
    var runs = Array.isArray(data) ? data : data && data.results;
    return runs && runs.length ? runs[0] : null;
  }

  function show(run) {
    if (!run) {
      return;
    }
    var percent = Math.max(0, Math.min(100, Number(run.progress) || 0));
    if (bar) {
      bar.hidden = run.status !== "running";
      bar.value = percent;
      bar.textContent = percent + "%";
    }
    if (run.status === "running") {
      say("Computing… " + percent + "%");
    } else if (run.id !== knownId) {
      // A run other than the one the page already describes (the page says the rest).
      say("Last run: " + run.status + (run.finished_at ? ", finished " + when(run.finished_at) : "") + ".");
    }
  }

  function when(iso) {
    var date = new Date(iso);
    if (isNaN(date.getTime())) {
      return iso;
    }
    return date.toLocaleString([], { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit" });
  }

  function get() {
    return fetch(url, {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" }
    });
  }

  var knownId = null;
  var QUEUE_POLLS = 60;

  function poll(count) {
    get()
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (data) {
        var run = latest(data);
        if (waiting && (!run || run.id === knownId) && count < QUEUE_POLLS) {
          say("Queued, waiting for a worker…");
          window.setTimeout(function () {
            poll(count + 1);
          }, INTERVAL_MS);
          return;
        }
        waiting = false;
        show(run);
        if (run && run.status === "running" && count < MAX_POLLS) {
          window.setTimeout(function () {
            poll(count + 1);
          }, INTERVAL_MS);
        } else {
          if (button) {
            button.disabled = false;
          }
          if (run && run.status !== "running" && count > 0) {
            say("Finished (" + run.status + "). Reload the page to see the new figures.");
          }
        }
      })
      .catch(function () {
        say("Could not read the progress; reload the page later.");
        if (button) {
          button.disabled = false;
        }
      });
  }

  get()
    .then(function (response) {
      if (response.status === 404 || !response.ok) {
        return;
      }
      if (button) {
        button.hidden = false;
      }
      return response.json().then(function (data) {
        var run = latest(data);
        knownId = run ? run.id : null;
        show(run);
        if (run && run.status === "running") {
          if (button) {
            button.disabled = true;
          }
          poll(0);
        }
      });
    })
    .catch(function () {});

  if (button) {
    button.addEventListener("click", function () {
      button.disabled = true;
      say("Starting…");
      fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          Accept: "application/json",
          "Content-Type": "application/json",
          "X-CSRFToken": token
        },
        body: "{}"
      })
        .then(function (response) {
          if (response.status === 409) {
            say("A run is already in progress.");
          } else if (!response.ok) {
            say("The run could not be started (" + response.status + ").");
            button.disabled = false;
            return;
          } else {
            waiting = true;
            say("Queued…");
          }
          poll(0);
        })
        .catch(function () {
          say("The run could not be started.");
          button.disabled = false;
        });
    });
  }
})();
