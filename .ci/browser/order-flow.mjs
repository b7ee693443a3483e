// The customer web page from QR URL to live status, in headless Chromium against a real `brigade serve
// --demo`: an admin and the demo manager set up a venue, a menu and a table's QR code through the API; the
// "customer" opens the code's URL, adds an item, signs in, places the order, and the page must show each
// status the manager sets, live.
//
// Usage: BRIGADE_URL=http://127.0.0.1:PORT node order-flow.mjs [screenshot.png]
import { chromium } from "playwright-core";

const base = process.env.BRIGADE_URL;
if (!base) throw new Error("set BRIGADE_URL");
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
const manager = await login("manager@demo.brigade");
const venue = await api("POST", "/api/venues", { name: `Browser Cafe ${Date.now()}`, timezone: "Europe/Rome", currency: "EUR", status: "active" }, admin);
await api("POST", `/api/restaurants/${venue.id}/members`, { email: "manager@demo.brigade", role: "manager" }, admin);
const category = await api("POST", `/api/venues/${venue.id}/menu/categories`, { name: "Coffee" }, manager);
await api("POST", `/api/venues/${venue.id}/menu/items`, { category_id: category.id, name: "Espresso", price: "1.20" }, manager);
await api("POST", `/api/venues/${venue.id}/menu/items`, { category_id: category.id, name: "Cornetto", price: "1.50" }, manager);
const qr = await api("POST", `/api/venues/${venue.id}/generate-qr`, { table: "B1" }, manager);
if (!qr.url.startsWith(base)) throw new Error(`the QR code encodes ${qr.url}, not a page of ${base}`);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
});
const failures = [];
try {
  const page = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  page.on("pageerror", (err) => failures.push(`page error: ${err.message}`));
  await page.goto(qr.url);
  await page.getByTestId("venue-name").waitFor();
  if ((await page.getByTestId("table").textContent()) !== "B1") throw new Error("the page does not show the table");
  await page.getByRole("button", { name: "Add Espresso" }).click();
  await page.getByRole("button", { name: "Add Espresso" }).click();
  await page.getByRole("button", { name: "Add Cornetto" }).click();
  const total = await page.getByTestId("cart-total").textContent();
  if (!total.includes("3.90")) throw new Error(`cart total ${total}, expected 3.90`);
  // The cart's lines: a note for the kitchen, a line removed and added back.
  if ((await page.getByTestId("cart-line").count()) !== 2) throw new Error("the cart does not list its two lines");
  await page.getByLabel("Note for Espresso").fill("extra hot");
  await page.getByRole("button", { name: "Remove Cornetto" }).click();
  if ((await page.getByTestId("cart-line").count()) !== 1) throw new Error("removing a line left it in the cart");
  if (!(await page.getByTestId("cart-total").textContent()).includes("2.40")) throw new Error("the total did not drop after removing the cornetto");
  await page.getByRole("button", { name: "Add Cornetto" }).click();
  if ((await page.getByLabel("Note for Espresso").inputValue()) !== "extra hot") throw new Error("the note was lost when the cart changed");

  // Not signed in: the customer makes an account in place (a guest's order is kitchen-flow's).
  await page.locator("label[for=who-signup]").click();
  await page.locator("#signup-first").fill("Walker");
  await page.locator("#signup-last").fill("Newman");
  await page.locator("#signup-email").fill(`walker.${Date.now()}@example.com`);
  await page.locator("#signup-password").fill("short");
  await page.getByRole("button", { name: "Create the account" }).click();
  await page.locator("#order-error").filter({ hasText: "Password" }).waitFor();
  await page.locator("#signup-password").fill("a long enough password");
  await page.getByRole("button", { name: "Create the account" }).click();
  await page.locator("#signin").waitFor({ state: "hidden" });
  if (!(await page.locator("#signed-in").textContent()).includes("Walker Newman")) throw new Error("the page does not say who is ordering");
  await page.getByTestId("place-order").click();

  const status = page.getByTestId("order-status");
  await status.waitFor();
  await page.waitForFunction(() => document.querySelector("[data-testid=order-status]").textContent === "Pending");
  const orderId = new URL(page.url()).searchParams.get("order");
  if (!orderId) throw new Error("the page did not record the order in its URL");

  for (const next of ["CONFIRMED", "PREPARING", "READY", "COMPLETED"]) {
    await api("PUT", `/api/orders/${orderId}/status`, { status: next }, manager);
    const expected = next.charAt(0) + next.slice(1).toLowerCase();
    await page.waitForFunction(
      (text) => document.querySelector("[data-testid=order-status]").textContent === text,
      expected,
      { timeout: 10000 },
    );
    console.log(`page shows ${expected}`);
    if (next === "CONFIRMED") {
      // In the kitchen now: the page says when it should be ready.
      await page.getByTestId("order-eta").filter({ hasText: "Ready around" }).waitFor({ timeout: 10000 });
    }
  }
  // The receipt: its lines, total and payment, and the way back to the menu.
  if (!(await page.getByTestId("receipt-total").textContent()).includes("3.90")) throw new Error("the receipt's total is not 3.90");
  if (!(await page.getByTestId("receipt").textContent()).includes("2 × Espresso (extra hot)")) throw new Error("the receipt does not list the espressos with their note");
  if (!(await page.getByTestId("receipt-payment").textContent()).includes("Cash")) throw new Error("the receipt does not say how it is paid");
  if (!(await page.getByTestId("back-to-menu").getAttribute("href")).startsWith("/q/")) throw new Error("no way back to the menu");
  const order = await api("GET", `/api/orders/${orderId}`, undefined, manager);
  if (order.total_amount !== "3.90" || order.table !== "B1" || order.order_type !== "DINE_IN") {
    throw new Error(`unexpected order ${JSON.stringify(order)}`);
  }
  if (process.argv[2]) await page.screenshot({ path: process.argv[2], fullPage: true });
} finally {
  await browser.close();
}
if (failures.length) throw new Error(failures.join("\n"));
console.log("QR page: menu, cart lines with a note, an account made in place, order, live status, estimated ready time and receipt all work");
