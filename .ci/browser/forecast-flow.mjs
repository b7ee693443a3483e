// The forecast page in headless Chromium against a real `brigade serve --demo`: the demo KAM signs in,
// opens /forecasts and, once the workers have trained the demo's models (seconds after start), sees the
// chart drawn by Chart.js with history, forecast and interval bands, the backtest table that chose the
// model, next week's days and peak hours, the customers card; then the hourly view; then the CRM
// dashboard's outage costs and a store page's orders at risk; at desktop and phone width.
//
// Usage: BRIGADE_URL=http://127.0.0.1:PORT node forecast-flow.mjs [screenshot-prefix]
import { chromium } from "playwright-core";

const base = process.env.BRIGADE_URL;
if (!base) throw new Error("set BRIGADE_URL");
const shots = process.argv[2];

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
});
const failures = [];

async function chartOf(page) {
  await page.getByTestId("forecast-chart").waitFor();
  return page.evaluate(() => {
    const chart = Chart.getChart(document.getElementById("forecast-chart"));
    if (!chart) return null;
    const data = (label) => chart.data.datasets.find((d) => d.label === label).data;
    return {
      width: chart.width,
      height: chart.height,
      labels: chart.data.labels.length,
      actual: data("Orders").filter((v) => v !== null).length,
      forecast: data("Forecast").filter((v) => v !== null).length,
      band: data("80% interval").filter((v) => v !== null).length,
    };
  });
}

try {
  for (const [name, viewport] of [["desktop", { width: 1280, height: 900 }], ["phone", { width: 390, height: 844 }]]) {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    page.on("pageerror", (err) => failures.push(`page error: ${err.message}`));
    page.on("console", (msg) => { if (msg.type() === "error") failures.push(`console: ${msg.text()}`); });
    await page.goto(`${base}/login`);
    await page.locator("#email").fill("kam@demo.brigade");
    await page.locator("#password").fill("brigade-demo");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByTestId("signed-in-as").waitFor({ state: "attached" });
    // The demo's models (demand and customers) are trained by the server's worker right after start.
    let trained = false;
    for (let i = 0; i < 90 && !trained; i++) {
      await page.goto(`${base}/forecasts`);
      const card = page.getByTestId("forecast-customers");
      trained = (await page.getByTestId("backtest-table").count()) > 0
        && (await card.count()) > 0
        && (await card.textContent()).includes("customer model version");
      if (!trained) await page.waitForTimeout(1000);
    }
    if (!trained) throw new Error("no trained demand and customer models reached the forecast page within 90 s");
    const model = await page.getByTestId("forecast-model").textContent();
    if (!model.includes("version") || !model.includes("latest")) throw new Error(`model line: ${model}`);
    const chart = await chartOf(page);
    if (!chart || chart.width < 300 || chart.height < 200) throw new Error(`chart not drawn: ${JSON.stringify(chart)}`);
    if (chart.actual < 28 || chart.forecast < 28 || chart.band !== 28) throw new Error(`daily chart data: ${JSON.stringify(chart)}`);
    const days = await page.getByTestId("forecast-week").locator("tbody tr").count();
    if (days !== 7) throw new Error(`next week has ${days} rows`);
    // The demo's regulars: a customer model answers, with the lists beside it.
    const customers = await page.getByTestId("forecast-customers").textContent();
    if (!customers.includes("customer model version")) throw new Error(`customers card: ${customers.slice(0, 300)}`);
    const valuable = await page.getByTestId("customers-high-value").locator("tbody tr").count();
    if (valuable < 1) throw new Error("no high-value customers listed");
    if (shots) await page.screenshot({ path: `${shots}-forecast-daily-${name}.png`, fullPage: true });
    await page.locator("#granularity").selectOption("hourly");
    await page.getByRole("button", { name: "Show" }).click();
    await page.waitForURL(/granularity=hourly/);
    const hourly = await chartOf(page);
    if (!hourly || hourly.band !== 168) throw new Error(`hourly chart data: ${JSON.stringify(hourly)}`);
    if (shots) await page.screenshot({ path: `${shots}-forecast-hourly-${name}.png`, fullPage: true });
    // Orders at risk: the KAM's dashboard ranks accounts by what their outages cost; the store page
    // shows each outage's expected orders.
    await page.goto(`${base}/crm`);
    const costs = page.getByTestId("outage-costs");
    await costs.waitFor();
    const costly = costs.locator("tbody tr a");
    if ((await costly.count()) < 1) throw new Error(`no account with outages: ${await costs.textContent()}`);
    if (shots) await page.screenshot({ path: `${shots}-crm-dashboard-${name}.png`, fullPage: true });
    await costly.first().click();
    await page.getByTestId("incidents").waitFor();
    const head = await page.getByTestId("incidents").locator("thead").textContent();
    if (!head.includes("Orders at risk")) throw new Error(`incidents table: ${head}`);
    const risk = await page.getByTestId("orders-at-risk").textContent();
    if (!/\d/.test(risk)) throw new Error(`orders at risk: ${risk}`);
    if (shots) await page.screenshot({ path: `${shots}-store-${name}.png`, fullPage: true });
    await context.close();
  }
  if (failures.length) throw new Error(failures.join("\n"));
  console.log("forecast page: chart drawn with history, forecast and bands, backtest table, customers, daily and hourly; outage costs on the CRM dashboard and store page; desktop and phone");
} finally {
  await browser.close();
}
