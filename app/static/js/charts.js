// Chart.js set-up for the overview's trend charts and the workload chart. The data comes from
// <script type="application/json"> blocks rendered on the server (never evaluated as code).
(function () {
  "use strict";
  var SEVERITIES = ["critical", "high", "medium", "low", "info"];

  function cssVar(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function data(canvas) {
    var source = document.getElementById(canvas.getAttribute("data-source"));
    return source ? JSON.parse(source.textContent) : null;
  }

  function label(text, unit) {
    if (unit === "hour") return text.slice(11, 16);
    if (unit === "day") return text.slice(5);
    return text;
  }

  function baseOptions() {
    var grid = cssVar("--line");
    var muted = cssVar("--muted");
    return {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "index", intersect: false },
      plugins: { legend: { position: "bottom", labels: { boxWidth: 12, color: muted } } },
      scales: {
        x: { stacked: true, grid: { display: false }, ticks: { color: muted, maxRotation: 0, autoSkipPadding: 12 } },
        y: { stacked: true, beginAtZero: true, grid: { color: grid }, ticks: { color: muted, precision: 0 } }
      }
    };
  }

  function stacked(canvas, series) {
    series = series || data(canvas);
    if (!series) return;
    var unit = canvas.getAttribute("data-unit");
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: series.labels.map(function (l) { return label(l, unit); }),
        datasets: SEVERITIES.map(function (s) {
          return { label: s, data: series.series[s], backgroundColor: cssVar("--" + s), borderWidth: 0, barPercentage: 0.9 };
        })
      },
      options: baseOptions()
    });
  }

  function workload(canvas) {
    var series = data(canvas);
    if (!series || !series.labels.length) return;
    var options = baseOptions();
    options.indexAxis = "y";
    options.scales = {
      x: { stacked: true, beginAtZero: true, grid: { color: cssVar("--line") }, ticks: { precision: 0, color: cssVar("--muted") } },
      y: { stacked: true, grid: { display: false }, ticks: { color: cssVar("--fg") } }
    };
    var datasets = SEVERITIES.map(function (s) {
      return { label: s, data: series.series[s], backgroundColor: cssVar("--" + s), borderWidth: 0, stack: "open" };
    });
    datasets.push({
      label: "max load", data: series.max_load, type: "bar", stack: "max", backgroundColor: "transparent",
      borderColor: cssVar("--fg"), borderWidth: { right: 3, left: 0, top: 0, bottom: 0 }, borderSkipped: false,
      grouped: false, barPercentage: 1.0
    });
    var wrap = canvas.closest(".chart-wrap");
    // One bar per developer: the chart grows with the team (CSSOM, allowed by the content policy).
    if (wrap) wrap.style.height = Math.max(160, 70 + series.labels.length * 30) + "px";
    new Chart(canvas, { type: "bar", data: { labels: series.labels, datasets: datasets }, options: options });
  }

  // A chart with data-url (the 30-day series) is fetched the first time its panel is shown: the
  // overview itself stays cheap to render.
  function loadWhenShown(canvas) {
    var panel = canvas.closest(".chart-wrap");
    var loaded = false;
    function load() {
      if (loaded || (panel && panel.hidden)) return;
      loaded = true;
      fetch(canvas.getAttribute("data-url"), { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (answer) { return answer.ok ? answer.json() : null; })
        .then(function (series) { if (series) stacked(canvas, series); else loaded = false; });
    }
    document.addEventListener("click", function (event) {
      if (event.target.closest("[data-show]")) setTimeout(load, 0);
    });
    load();
  }

  function init() {
    if (typeof Chart === "undefined") return;
    document.querySelectorAll("canvas[data-chart=stacked]").forEach(function (canvas) {
      if (canvas.hasAttribute("data-url")) loadWhenShown(canvas); else stacked(canvas);
    });
    document.querySelectorAll("canvas[data-chart=workload]").forEach(workload);
  }

  // The theme toggle recolours the labels, axes and max-load marks of the charts already drawn.
  document.addEventListener("heartwatch:theme", function () {
    if (typeof Chart === "undefined") return;
    Object.values(Chart.instances).forEach(function (chart) {
      var scales = chart.options.scales;
      Object.keys(scales).forEach(function (axis) {
        var names = chart.options.indexAxis === "y" && axis === "y";
        scales[axis].ticks.color = cssVar(names ? "--fg" : "--muted");
        if (scales[axis].grid.display !== false) scales[axis].grid.color = cssVar("--line");
      });
      chart.options.plugins.legend.labels.color = cssVar("--muted");
      chart.data.datasets.forEach(function (set) { if (set.stack === "max") set.borderColor = cssVar("--fg"); });
      chart.update();
    });
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
