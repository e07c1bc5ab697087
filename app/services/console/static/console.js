// Draws each dashboard chart from the table the server rendered into the page (no request of its own).
(function () {
  function draw(root) {
    (root || document).querySelectorAll("[data-chart]").forEach(function (el) {
      if (el.dataset.drawn) return;
      var source = document.getElementById(el.dataset.chart);
      if (!source || !window.echarts) return;
      var data = JSON.parse(source.textContent);
      var numeric = function (v) { return typeof v === "number" ? v : null; };  // "<10" is not drawn
      var series = data.columns.map(function (name, c) {
        return { name: name, type: data.chart, data: data.rows.map(function (r) { return numeric(r.cells[c]); }) };
      });
      var chart = echarts.init(el, null, { renderer: "svg", locale: "ZH" });
      chart.setOption({
        animation: false,
        tooltip: { trigger: "axis" },
        legend: { top: 0 },
        grid: { left: 48, right: 16, top: 48, bottom: 64 },
        xAxis: { type: "category", data: data.rows.map(function (r) { return r.label; }), axisLabel: { rotate: 30 } },
        yAxis: { type: "value", name: data.unit, minInterval: 1 },
        series: series
      });
      el.dataset.drawn = "1";
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { draw(); });
  document.addEventListener("htmx:afterSettle", function (e) { draw(e.target); });
  // Keyboard: "j"/"k" move through the review queue, Enter opens the focused posting.
  document.addEventListener("keydown", function (e) {
    if (e.target.closest("input, textarea, select") || e.ctrlKey || e.metaKey || e.altKey) return;
    var links = Array.prototype.slice.call(document.querySelectorAll("[data-queue-item]"));
    if (!links.length || (e.key !== "j" && e.key !== "k")) return;
    var i = links.indexOf(document.activeElement);
    i = e.key === "j" ? Math.min(links.length - 1, i + 1) : Math.max(0, i - 1);
    links[i].focus();
    e.preventDefault();
  });
})();
