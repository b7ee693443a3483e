// Every chart on the page must be drawn, fit the screen, and have axis labels a person can read:
// measured from what Chart.js laid out, not judged by eye. Returns the problems found.
export async function unreadableCharts(page, minimumPx = 11) {
  return page.evaluate((minimum) => {
    const problems = [];
    const canvases = document.querySelectorAll("canvas[data-chart]");
    if (!canvases.length) problems.push("no chart on the page");
    for (const canvas of canvases) {
      const name = canvas.dataset.chart;
      const chart = typeof Chart !== "undefined" ? Chart.getChart(canvas) : null;
      if (!chart) {
        problems.push(`${name}: not drawn`);
        continue;
      }
      const box = canvas.getBoundingClientRect();
      if (box.right > window.innerWidth + 1 || box.width < 100 || box.height < 100) {
        problems.push(`${name}: ${box.width}x${box.height} at ${box.left} on a ${window.innerWidth}px screen`);
      }
      const ctx = chart.ctx;
      for (const scale of Object.values(chart.scales)) {
        const items = scale.getLabelItems();
        if (!items.length) {
          problems.push(`${name} ${scale.id}: no labels`);
          continue;
        }
        for (const item of items) {
          if (item.font.size < minimum) problems.push(`${name} ${scale.id}: "${item.label}" at ${item.font.size}px`);
        }
        // Neighbouring labels must not overlap.
        const placed = items.map((item) => {
          ctx.save();
          ctx.font = item.font.string;
          const text = Array.isArray(item.label) ? item.label.join(" ") : String(item.label);
          const width = ctx.measureText(text).width;
          ctx.restore();
          return { text, width, x: item.options.translation[0], y: item.options.translation[1], size: item.font.size };
        });
        const across = scale.isHorizontal();
        placed.sort((a, b) => (across ? a.x - b.x : a.y - b.y));
        for (let i = 1; i < placed.length; i++) {
          const [a, b] = [placed[i - 1], placed[i]];
          const gap = across ? b.x - a.x - (a.width + b.width) / 2 : b.y - a.y - (a.size + b.size) / 2;
          if (gap < 0) problems.push(`${name} ${scale.id}: "${a.text}" and "${b.text}" overlap by ${(-gap).toFixed(1)}px`);
        }
      }
    }
    return problems;
  }, minimumPx);
}
