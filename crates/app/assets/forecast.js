// Draws the forecast page's chart (Chart.js) from the JSON the page carries: history as a line, the
// forecast as a dashed line inside its 80% and 95% bands.
(function () {
  const canvas = document.getElementById("forecast-chart");
  const source = document.getElementById("forecast-data");
  if (!canvas || !source || typeof Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  if (!data) return;
  const dark = document.documentElement.getAttribute("data-bs-theme") === "dark";
  const line = { pointRadius: data.hourly ? 0 : 2, pointHoverRadius: 4, borderWidth: 2, spanGaps: false };
  const band = (label, values, fill, color) => ({
    label, data: values, fill, backgroundColor: color, borderWidth: 0, pointRadius: 0, pointHoverRadius: 0,
  });
  new Chart(canvas, {
    type: "line",
    data: {
      labels: data.labels,
      datasets: [
        band("95% low", data.lower_95, false, "transparent"),
        band("95% interval", data.upper_95, "-1", "rgba(13, 110, 253, 0.12)"),
        band("80% low", data.lower_80, false, "transparent"),
        band("80% interval", data.upper_80, "-1", "rgba(13, 110, 253, 0.22)"),
        Object.assign({ label: "Orders", data: data.actual, borderColor: dark ? "#dee2e6" : "#212529", backgroundColor: "#212529" }, line),
        Object.assign({ label: "Forecast", data: data.predicted, borderColor: "#0d6efd", backgroundColor: "#0d6efd", borderDash: [6, 4] }, line),
      ],
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: "index", intersect: false },
      scales: {
        x: {
          ticks: {
            maxRotation: 0,
            autoSkip: true,
            maxTicksLimit: window.innerWidth < 576 ? 4 : 10,
            // 2026-12-06 -> 12-06; 2026-12-06T13:00 -> 12-06 13h
            callback: function (value) {
              const label = this.getLabelForValue(value);
              return data.hourly ? label.slice(5, 10) + " " + label.slice(11, 13) + "h" : label.slice(5);
            },
          },
        },
        y: { beginAtZero: true, title: { display: true, text: data.hourly ? "orders per hour" : "orders per day" } },
      },
      plugins: {
        legend: { labels: { filter: (item) => !item.text.endsWith(" low") } },
        tooltip: {
          filter: (item) => item.raw !== null && !item.dataset.label.endsWith(" low"),
          callbacks: {
            label: (ctx) => {
              const i = ctx.dataIndex;
              const v = (x) => (x === null || x === undefined ? "" : Number(x).toFixed(1));
              if (ctx.dataset.label === "95% interval") return "95%: " + v(data.lower_95[i]) + " – " + v(data.upper_95[i]);
              if (ctx.dataset.label === "80% interval") return "80%: " + v(data.lower_80[i]) + " – " + v(data.upper_80[i]);
              return ctx.dataset.label + ": " + v(ctx.raw);
            },
          },
        },
      },
    },
  });
})();
