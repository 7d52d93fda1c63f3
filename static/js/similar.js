/* Similar-projects panel of the project form.
   While the user types the name, problem, benefits or outputs, POST the draft to the panel's
   data-endpoint once typing has paused for DELAY_MS, and list the similar projects found, with
   their grade and reasons. The target is 300 ms from the last keystroke to the panel showing the
   answer, so the pause (150 ms) plus the check (~30 ms at 100k projects) plus rendering must fit
   in it; benchmarks/bench_panel.py measures it in Chromium. Keys typed less than 150 ms apart send
   nothing until the pause; a slower typist may send one check per key.
   Only the latest draft's answer is shown: a newer check aborts the request still in flight
   (AbortController) and an answer whose sequence number is not the latest is dropped. A draft
   identical to the one last sent (e.g. only a trailing space typed) is not sent again.
   The endpoint answers {"results": [{"project": {"id", "name", "business_unit": {"name", "parent_name"}, "stage"},
   "score", "grade", "reasons": [...]}]}. A 404 or 405 (endpoint not deployed yet: the router
   then takes "similar" for a project id) hides the panel silently.
   After each answer is rendered the panel sets data-rendered-seq and dispatches a bubbling
   "similar:rendered" event whose detail is {sequence, draft, count} (used by the benchmark).
   The "Why is yours different?" box appears once similar projects are shown. */
(function () {
  "use strict";

  var panel = document.getElementById("similar-panel");
  if (!panel || !window.fetch || !window.JSON) {
    return;
  }
  var form = panel.closest("form");
  var endpoint = panel.getAttribute("data-endpoint");
  var exclude = panel.getAttribute("data-exclude-project");
  var statusBox = panel.querySelector("[data-similar-status]");
  var list = panel.querySelector("[data-similar-results]");
  var justification = panel.querySelector("[data-similar-justification]");
  var justificationInput = justification ? justification.querySelector("textarea") : null;
  var TEXT_FIELDS = ["name", "problem", "benefits", "outputs"];
  var MIN_CHARS = 8;
  var DELAY_MS = 150;
  var GRADE_TONES = { duplicate: "vermillion", overlapping: "orange", complementary: "sky" };
  var timer = null;
  var controller = null;
  var sequence = 0;
  var lastSent = null;
  var disabled = false;

  if (!form || !endpoint) {
    return;
  }
  panel.hidden = false;

  function field(name) {
    return form.elements.namedItem(name);
  }

  function text(name) {
    var element = field(name);
    return element && typeof element.value === "string" ? element.value.trim() : "";
  }

  function toNumber(value) {
    var number = parseInt(value, 10);
    return isNaN(number) ? null : number;
  }

  function selectedTools() {
    var boxes = form.querySelectorAll('input[name="tools"]:checked');
    return Array.prototype.map.call(boxes, function (box) {
      return toNumber(box.value);
    });
  }

  function csrfToken() {
    var input = form.querySelector('input[name="csrfmiddlewaretoken"]');
    return input ? input.value : "";
  }

  function payload() {
    return {
      name: text("name"),
      problem: text("problem"),
      benefits: text("benefits"),
      outputs: text("outputs"),
      tools: selectedTools(),
      business_unit: toNumber(text("business_unit")),
      exclude_project: toNumber(exclude)
    };
  }

  function enoughText(data) {
    return (data.name + data.problem + data.benefits + data.outputs).length >= MIN_CHARS;
  }

  function showJustification(show) {
    if (!justification) {
      return;
    }
    var hasText = justificationInput && justificationInput.value.trim() !== "";
    justification.hidden = !(show || hasText);
  }

  function setStatus(message) {
    statusBox.textContent = message;
    statusBox.hidden = false;
  }

  function disable() {
    // The endpoint does not exist (yet): hide everything but a justification already written.
    disabled = true;
    statusBox.hidden = true;
    list.hidden = true;
    var keep = justification && !justification.hidden;
    panel.hidden = !keep;
  }

  function element(tag, className, content) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (content !== undefined && content !== null) {
      node.textContent = String(content);
    }
    return node;
  }

  function capitalise(value) {
    var words = String(value || "").replace(/_/g, " ");
    return words.charAt(0).toUpperCase() + words.slice(1);
  }

  function render(results) {
    list.textContent = "";
    if (!results.length) {
      list.hidden = true;
      setStatus("No similar projects found so far.");
      showJustification(false);
      return;
    }
    results.forEach(function (result) {
      var project = result.project || {};
      var item = element("li");
      var link = element("a", null, project.name || "Untitled project");
      link.href = "/projects/" + encodeURIComponent(project.id) + "/";
      link.target = "_blank";
      link.rel = "noopener";
      link.appendChild(element("span", "visually-hidden", " (opens in a new tab)"));
      item.appendChild(link);
      if (result.grade) {
        var tone = GRADE_TONES[result.grade] || "neutral";
        item.appendChild(document.createTextNode(" "));
        item.appendChild(element("span", "badge badge-" + tone, capitalise(result.grade)));
      }
      var meta = [];
      if (project.business_unit && project.business_unit.name) {
        // A bureau's name alone is ambiguous across agencies ("OCIO"): add the unit above it.
        var unit = project.business_unit;
        meta.push(unit.parent_name ? unit.name + " (" + unit.parent_name + ")" : unit.name);
      }
      if (project.stage) {
        meta.push(capitalise(project.stage));
      }
      if (typeof result.score === "number") {
        meta.push(Math.round(result.score * 100) + "% similar");
      }
      item.appendChild(element("div", "meta", meta.join(" · ")));
      var reasons = result.reasons || [];
      if (reasons.length) {
        var reasonList = element("ul", "reasons");
        reasons.forEach(function (reason) {
          reasonList.appendChild(element("li", null, reason));
        });
        item.appendChild(reasonList);
      }
      list.appendChild(item);
    });
    list.hidden = false;
    setStatus(
      results.length === 1
        ? "1 similar project. Could you reuse or join it?"
        : results.length + " similar projects. Could you reuse or join one of them?"
    );
    showJustification(true);
  }

  function rendered(mine, data, count) {
    panel.setAttribute("data-rendered-seq", String(mine));
    if (typeof window.CustomEvent === "function") {
      panel.dispatchEvent(
        new CustomEvent("similar:rendered", {
          bubbles: true,
          detail: { sequence: mine, draft: data, count: count }
        })
      );
    }
  }

  function check() {
    if (disabled) {
      return;
    }
    var data = payload();
    if (!enoughText(data)) {
      return;
    }
    var body = JSON.stringify(data);
    if (body === lastSent) {
      return;
    }
    lastSent = body;
    if (controller) {
      controller.abort();
    }
    controller = window.AbortController ? new AbortController() : null;
    var mine = ++sequence;
    setStatus("Looking for similar projects…");
    fetch(endpoint, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": csrfToken(),
        "X-Requested-With": "XMLHttpRequest"
      },
      body: body,
      signal: controller ? controller.signal : undefined
    })
      .then(function (response) {
        if (response.status === 404 || response.status === 405) {
          disable();
          return null;
        }
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (answer) {
        if (answer === null || mine !== sequence || disabled) {
          return;
        }
        var results = Array.isArray(answer.results) ? answer.results : [];
        render(results);
        rendered(mine, data, results.length);
      })
      .catch(function (error) {
        if (error && error.name === "AbortError") {
          return;
        }
        if (mine === sequence) {
          lastSent = null; // the same draft may be sent again
          list.hidden = true;
          setStatus("Similar projects could not be checked just now. You can still save.");
        }
      });
  }

  function schedule() {
    if (disabled) {
      return;
    }
    window.clearTimeout(timer);
    timer = window.setTimeout(check, DELAY_MS);
  }

  TEXT_FIELDS.forEach(function (name) {
    var input = field(name);
    if (input && input.addEventListener) {
      input.addEventListener("input", schedule);
    }
  });
  form.addEventListener("change", function (event) {
    var name = event.target && event.target.name;
    if (name === "tools" || name === "business_unit") {
      schedule();
    }
  });

  // Editing an existing project: check once straight away.
  if (enoughText(payload())) {
    schedule();
  }
})();
