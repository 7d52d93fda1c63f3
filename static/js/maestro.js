/* Maestro: small behaviours shared by every page (loaded with defer, no inline scripts).
   - forms with data-confirm="…" ask for confirmation before submitting;
   - an error summary ([data-error-summary]) takes the focus when the page loads, so that
     keyboard and screen-reader users hear what went wrong first. */
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var message = form && form.getAttribute ? form.getAttribute("data-confirm") : null;
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });

  function focusErrorSummary() {
    var summary = document.querySelector("[data-error-summary]");
    if (summary) {
      summary.focus();
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", focusErrorSummary);
  } else {
    focusErrorSummary();
  }
})();
