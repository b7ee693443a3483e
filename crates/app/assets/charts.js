// Draws every chart a page describes, the same way everywhere: a <canvas data-chart="ID"> and its
// description (web::chart::Chart) as JSON in <script type="application/json" id="ID">.
(function () {
  if (typeof Chart === "undefined") return;
  const dark = () => document.documentElement.getAttribute("data-bs-theme") === "dark";
  const text = () => getComputedStyle(document.body).color;
  const grid = () => (dark() ? "rgba(255,255,255,0.12)" : "rgba(0,0,0,0.1)");
  const phone = () => window.innerWidth < 576;

  Chart.defaults.font.size = 13;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.maintainAspectRatio = false;

  // 2026-06-14T10:00 -> "06-14 10h" on the axis; 2026-06-14 -> "06-14".
  const short = (label) => (label.length > 10 ? label.slice(5, 10) + " " + label.slice(11, 13) + "h" : label.slice(5, 10));

  function draw(canvas) {
    const source = document.getElementById(canvas.dataset.chart);
    if (!source) return;
    const spec = JSON.parse(source.textContent);
    if (!spec) return;
    const values = [].concat(...spec.datasets.map((d) => d.data)).filter((v) => v !== null);
    const low = values.length ? Math.min(...values) : 0;
    const valueAxis = {
      beginAtZero: !spec.percent || low < 80,
      stacked: spec.stacked,
      title: { display: !!spec.value_title, text: spec.value_title, color: text() },
      ticks: { color: text(), font: { size: 12 }, callback: spec.percent ? (v) => v + "%" : undefined },
      grid: { color: grid() },
    };
    if (spec.percent) {
      valueAxis.max = 100;
      // 92% against 100% must show: the axis starts just below the lowest value.
      if (low >= 80) valueAxis.min = Math.max(0, Math.floor((low - 5) / 5) * 5);
    }
    const labelAxis = {
      stacked: spec.stacked,
      title: { display: !!spec.label_title, text: spec.label_title, color: text() },
      ticks: {
        color: text(),
        font: { size: 12 },
        autoSkip: true,
        maxRotation: 0,
        maxTicksLimit: spec.horizontal ? undefined : phone() ? 4 : 12,
        callback: function (value) {
          const label = this.getLabelForValue(value);
          return spec.time ? short(label) : label;
        },
      },
      grid: { display: false },
    };
    const options = {
      responsive: true,
      indexAxis: spec.horizontal ? "y" : "x",
      interaction: { mode: "index", intersect: false },
      scales: spec.horizontal ? { x: valueAxis, y: labelAxis } : { x: labelAxis, y: valueAxis },
      plugins: {
        legend: { display: spec.datasets.length > 1, labels: { color: text(), boxWidth: 14 } },
        tooltip: {
          callbacks: {
            title: (items) => (items.length ? items[0].label : ""),
            label: (ctx) => (ctx.raw === null ? null : ctx.dataset.label + ": " + ctx.formattedValue + (spec.percent ? "%" : spec.unit)),
          },
          filter: (item) => item.raw !== null,
        },
      },
    };
    if (spec.zoom && typeof ChartZoom !== "undefined") {
      options.plugins.zoom = {
        zoom: { wheel: { enabled: true }, pinch: { enabled: true }, drag: { enabled: false }, mode: "x" },
        pan: { enabled: true, mode: "x" },
        limits: { x: { minRange: 3 } },
      };
    }
    const chart = new Chart(canvas, {
      type: spec.kind,
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map((d) => ({
          label: d.label,
          data: d.data,
          backgroundColor: d.colour,
          borderColor: d.colour,
          borderDash: d.dashed ? [6, 4] : undefined,
          borderWidth: spec.kind === "line" ? 2 : 0,
          pointRadius: spec.kind === "line" ? (spec.labels.length > 60 ? 0 : 3) : undefined,
          spanGaps: false,
        })),
      },
      options,
    });
    if (spec.zoom) canvas.addEventListener("dblclick", () => chart.resetZoom && chart.resetZoom());
  }

  const drawAll = () =>
    document.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
      if (!Chart.getChart(canvas)) draw(canvas);
    });
  drawAll();
  // Parts of the page swapped in place (htmx) bring new canvases.
  document.addEventListener("htmx:afterSettle", drawAll);
  // A change of theme redraws every chart in the new colours.
  document.addEventListener("brigade:theme", () => {
    document.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
      const chart = Chart.getChart(canvas);
      if (chart) chart.destroy();
    });
    drawAll();
  });
})();
