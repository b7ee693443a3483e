// Purchasing in headless Chromium against a real `brigade serve --demo`: the demo's Ember & Oak has
// suppliers, recipes and deliveries running low; its stock page says what to order (from the demand
// forecast through the recipes), the manager drafts purchase orders from it, sends the butcher's (the
// e-mail goes to the outbox), and a phone at the back door receives it into stock line by line.
//
// Usage: BRIGADE_URL=http://127.0.0.1:PORT node purchasing-flow.mjs [screenshot-prefix]
import { chromium } from "playwright-core";

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
const manager = await login("manager@demo.brigade");
const found = await api("GET", "/api/restaurants?external_id=demo-ember-oak", undefined, await login("admin@demo.brigade"));
const ember = (found.items || found)[0];
if (!ember) throw new Error("the demo has no Ember & Oak");
const onHand = async (name) => (await api("GET", `/api/venues/${ember.id}/ingredients`, undefined, manager)).find((i) => i.name === name).on_hand;
const onglet = Number(await onHand("Onglet"));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
});
const failures = [];
try {
  const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  page.on("pageerror", (err) => failures.push(`page error: ${err.message}`));
  await page.goto(`${base}/login`);
  await page.locator("#email").fill("manager@demo.brigade");
  await page.locator("#password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByTestId("signed-in-as").waitFor();
  if ((await page.getByRole("link", { name: "Purchasing", exact: true }).count()) === 0) throw new Error("the venue team's navigation has no Purchasing link");

  // What to order: the butcher's onglet, from the forecast.
  await page.goto(`${base}/venues/${ember.id}/inventory`);
  await page.getByTestId("reorder-supplier").filter({ hasText: "Smithfield & Sons" }).waitFor({ timeout: 30000 });
  await page.getByTestId("reorder-line").filter({ hasText: "Onglet" }).waitFor();
  // The stock list says it too: the onglet is to order now, with its days of cover.
  const ongletRow = page.getByTestId("stock-row").and(page.locator('[data-ingredient="Onglet"]'));
  await ongletRow.getByTestId("order-now").waitFor();
  await ongletRow.getByTestId("cover").filter({ hasText: " d" }).waitFor();
  if (shots) await page.screenshot({ path: `${shots}-reorder-desktop.png`, fullPage: true });
  await page.getByTestId("draft-orders").click();
  await page.getByTestId("stock-status").filter({ hasText: "draft purchase order" }).waitFor();

  // The onglet's own page: cover, the chart of use and forecast, its batch.
  await page.getByTestId("ingredient-link").filter({ hasText: "Onglet" }).click();
  await page.getByTestId("ingredient-name").filter({ hasText: "Onglet" }).waitFor();
  await page.getByTestId("fact-cover").waitFor();
  await page.getByTestId("batch").first().waitFor();
  await page.getByTestId("movement").first().waitFor();
  if (!(await page.locator("#usage-chart").evaluate((c) => c.width > 0))) throw new Error("no usage chart drawn");
  if (shots) await page.screenshot({ path: `${shots}-ingredient-desktop.png`, fullPage: true });
  const small = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  small.on("pageerror", (err) => failures.push(`phone page error: ${err.message}`));
  await small.context().addCookies(await page.context().cookies());
  await small.goto(page.url());
  await small.getByTestId("batch").first().waitFor();
  if (shots) await small.screenshot({ path: `${shots}-ingredient-phone.png`, fullPage: true });

  // The drafts on the purchasing page; the butcher's is sent.
  await page.goto(`${base}/venues/${ember.id}/purchasing`);
  const butcher = page.getByTestId("po").filter({ hasText: "Smithfield & Sons" });
  await butcher.and(page.locator("[data-status=draft]")).waitFor();
  await butcher.getByTestId("po-send").click();
  await page.getByTestId("po-status").filter({ hasText: "e-mailed to orders@smithfield.example" }).waitFor();
  await butcher.and(page.locator("[data-status=sent]")).waitFor();
  if (shots) await page.screenshot({ path: `${shots}-purchasing-desktop.png`, fullPage: true });

  // A phone at the back door receives it, as delivered.
  const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  phone.on("pageerror", (err) => failures.push(`phone page error: ${err.message}`));
  await phone.context().addCookies(await page.context().cookies());
  await phone.goto(`${base}/venues/${ember.id}/purchasing`);
  const arriving = phone.getByTestId("po").filter({ hasText: "Smithfield & Sons" }).and(phone.locator("[data-status=sent]"));
  await arriving.getByTestId("po-receive").click();
  await arriving.getByTestId("receive-form").waitFor();
  if (shots) await phone.screenshot({ path: `${shots}-receiving-phone.png`, fullPage: true });
  await arriving.getByTestId("receive-submit").click();
  await phone.getByTestId("po-status").filter({ hasText: "received in full" }).waitFor();
  const after = Number(await onHand("Onglet"));
  if (!(after > onglet)) throw new Error(`onglet on hand went from ${onglet} to ${after}`);
  await phone.getByTestId("po-filter").selectOption("received");
  await phone.getByTestId("po").filter({ hasText: "Smithfield & Sons" }).and(phone.locator("[data-status=received]")).waitFor();
  console.log(`purchasing: reorder suggested from the forecast, drafts made, the butcher's sent and received on a phone (onglet ${onglet} -> ${after} g)`);
} finally {
  await browser.close();
}
if (failures.length) {
  console.error(failures.join("\n"));
  process.exit(1);
}
