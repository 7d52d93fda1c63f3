/* Draw every chart of the page: each [data-chart="id"] container reads its Plotly figure from
   the JSON script element with that id (written by Django's json_script). No inline script. */
(function () {
  "use strict";

  if (!window.Plotly) {
    return;
  }
  var CONFIG = { responsive: true, displaylogo: false, displayModeBar: "hover" };
  var boxes = document.querySelectorAll("[data-chart]");
  Array.prototype.forEach.call(boxes, function (box) {
    var source = document.getElementById(box.getAttribute("data-chart"));
    if (!source) {
      return;
    }
    var figure;
    try {
      figure = JSON.parse(source.textContent);
    } catch (error) {
      return;
    }
    if (!figure || !figure.data) {
      return;
    }
    box.classList.add("chart-drawn");
    window.Plotly.newPlot(box, figure.data, figure.layout || {}, CONFIG);
  });
})();
