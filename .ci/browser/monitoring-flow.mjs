// The monitoring fleet in headless Chromium against a real `brigade serve --demo`: through the API an
// administrator sends polls for a new store (open around the clock) that went down more than half an
// hour ago, and hands it to the demo KAM; within a minute (the fleet job's schedule) the overview lists
// it first, down, with how long; the filters by KAM and state keep it; the store's page says which days
// have no data; on a phone the overview's rows are cards and every chart (uptime, analytics, the CRM's
// tiers and score) is drawn within the screen with axis labels of 11px or more that do not overlap
// (measured from the laid-out chart); and the KAM, signing in, finds the alert in her inbox with a
// link to the store.
//
// Usage: BRIGADE_URL=http://127.0.0.1:PORT node monitoring-flow.mjs [screenshot-prefix]
import { chromium } from "playwright-core";
import { unreadableCharts } from "./charts-check.mjs";

const base = process.env.BRIGADE_URL;
if (!base) throw new Error("set BRIGADE_URL");
const shots = process.argv[2];
const password = "brigade-demo";

async function api(method, path, body, token) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const envelope = await response.json();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(envelope)}`);
  return envelope.data;
}

const login = async (email) => (await api("POST", "/api/auth/login", { email, password })).tokens.access_token;
const admin = await login("admin@demo.brigade");
const store = `browser-down-${Date.now()}`;
const ago = (minutes) => new Date(Date.now() - minutes * 60_000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
await api("POST", "/api/monitoring/polls", {
  polls: [
    { store_id: store, timestamp_utc: ago(80), status: "active" },
    { store_id: store, timestamp_utc: ago(50), status: "inactive" },
    { store_id: store, timestamp_utc: ago(35), status: "inactive" },
    { store_id: store, timestamp_utc: ago(20), status: "inactive" },
    { store_id: store, timestamp_utc: ago(4), status: "inactive" },
  ],
}, admin);
const restaurant = (await api("GET", `/api/restaurants?external_id=${store}`, undefined, admin)).items[0];
const kiran = (await api("GET", "/api/crm/kams", undefined, admin)).find((k) => k.email === "kam@demo.brigade");
await api("POST", "/api/crm/reassignments", { restaurant_ids: [restaurant.id], to_kam_id: kiran.id }, admin);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
});
const failures = [];

async function signIn(context, email) {
  const page = await context.newPage();
  page.on("pageerror", (err) => failures.push(`page error: ${err.message}`));
  await page.goto(`${base}/login`);
  await page.locator("#email").fill(email);
  await page.locator("#password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByTestId("signed-in-as").waitFor({ state: "attached" });
  return page;
}

try {
  const adminContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const ops = await signIn(adminContext, "admin@demo.brigade");
  // The fleet job runs every minute: wait for it to have seen the store.
  let first = "";
  for (let i = 0; i < 30; i++) {
    await ops.goto(`${base}/monitoring`);
    first = (await ops.getByTestId("fleet-row").count()) ? await ops.getByTestId("fleet-row").first().textContent() : "";
    if (first.includes(restaurant.name)) break;
    await ops.waitForTimeout(4000);
  }
  if (!first.includes(restaurant.name)) throw new Error(`the down store is not first: ${first}`);
  const state = await ops.getByTestId("fleet-row").first().getAttribute("data-state");
  if (state !== "down") throw new Error(`the first store is ${state}`);
  if (!/for 1 h \d+ min/.test(first)) throw new Error(`no time down on the row: ${first}`);
  const alerts = await ops.getByTestId("open-alerts").textContent();
  if (!alerts.includes(restaurant.name)) throw new Error(`open alerts: ${alerts}`);
  if (shots) await ops.screenshot({ path: `${shots}-fleet.png`, fullPage: true });
  // Filters: her stores, and only the down ones.
  await ops.getByLabel("KAM").selectOption({ label: "Kiran Mehta" });
  await ops.getByLabel("State").selectOption({ label: "down" });
  await ops.getByRole("button", { name: "Filter" }).click();
  const rows = await ops.getByTestId("fleet-row").allTextContents();
  if (rows.length < 1 || !rows.every((r) => r.includes("Kiran Mehta") && r.includes("down"))) throw new Error(`filtered rows: ${rows}`);
  // Its page: no data before the first poll, not 100% up.
  await ops.getByRole("link", { name: restaurant.name }).first().click();
  const days = await ops.getByTestId("uptime-days").textContent();
  if (!days.includes("no data")) throw new Error(`the store's days: ${days}`);
  if (shots) await ops.screenshot({ path: `${shots}-store.png`, fullPage: true });

  // On a phone the overview's rows are cards, nothing wider than the screen.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const opsPhone = await signIn(phone, "admin@demo.brigade");
  await opsPhone.goto(`${base}/monitoring`);
  const overflow = await opsPhone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 0) throw new Error(`the overview is ${overflow}px wider than the phone`);
  if (shots) await opsPhone.screenshot({ path: `${shots}-fleet-phone.png`, fullPage: true });
  // Charts on a phone: drawn, within the screen, axis labels at least 11px and not overlapping.
  const kiranPhone = await signIn(
    await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true }),
    "kam@demo.brigade",
  );
  // One of her restaurants (another flow may have handed some of them over).
  const crmRestaurant = (await api("GET", `/api/crm/restaurants?kam_id=${kiran.id}&per_page=100`, undefined, admin)).items.find(
    (r) => r.id !== restaurant.id && r.score !== null,
  );
  for (const [who, path, shot] of [
    [opsPhone, `/monitoring/stores/${restaurant.id}`, "store-phone"],
    [opsPhone, "/analytics?from=2020-01-01&to=2020-12-31", null],
    [opsPhone, "/analytics", "analytics-phone"],
    [kiranPhone, "/crm", "crm-phone"],
    [kiranPhone, `/crm/restaurants/${crmRestaurant.id}`, "restaurant-phone"],
  ]) {
    await who.goto(`${base}${path}`);
    // The analytics rollup runs every minute: a just-started server may not have rolled up yet.
    for (let i = 0; i < 20 && path === "/analytics" && !(await who.locator("canvas[data-chart]").count()); i++) {
      await who.waitForTimeout(4000);
      await who.reload();
    }
    // A restaurant scored on one day only says so in a sentence rather than drawing one dot.
    if (path.startsWith("/crm/restaurants/") && (await who.getByTestId("score-once").count())) {
      if (shots && shot) await who.screenshot({ path: `${shots}-${shot}.png`, fullPage: true });
      continue;
    }
    const problems = await unreadableCharts(who);
    if (path.startsWith("/analytics?from=2020")) {
      // No orders in that range: no chart, and the page says so.
      if (!(await who.locator("main").textContent()).includes("No orders in this range")) throw new Error("an empty range without a word");
      continue;
    }
    if (problems.length) { if (shots) await who.screenshot({ path: `${shots}-failed.png`, fullPage: true }); throw new Error(`${path} at 390px: ${problems.join("; ")}`); }
    if (shots && shot) await who.screenshot({ path: `${shots}-${shot}.png`, fullPage: true });
  }

  // The KAM was told.
  const kamContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const kam = await signIn(kamContext, "kam@demo.brigade");
  await kam.getByRole("link", { name: "Inbox" }).click();
  const inbox = await kam.getByTestId("notifications").textContent();
  if (!inbox.includes(`${restaurant.name} is down`)) throw new Error(`the KAM's inbox: ${inbox}`);
  if (shots) await kam.screenshot({ path: `${shots}-inbox.png`, fullPage: true });
  await kam.getByRole("link", { name: `${restaurant.name} is down` }).first().click();
  await kam.getByTestId("uptime-chart").waitFor();
} catch (err) {
  failures.push(err.stack || String(err));
} finally {
  await browser.close();
}
if (failures.length) {
  console.error(failures.join("\n"));
  process.exit(1);
}
console.log("Monitoring: a down store first on the fleet overview, filters, no-data days, cards on a phone, and the KAM's alert all work in Chromium");
