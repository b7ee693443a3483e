// The venue team's screens in headless Chromium against a real `brigade serve --demo`: the demo manager
// sets up a venue with a grill and a bar (drinks routed to the bar) through the API and signs in; a guest
// (a name and a phone, no account) scans table K1's QR code on a phone and orders; the order arrives on
// the order queue live (with its badge and the guest's name) and the manager accepts it there; the
// kitchen display shows its ticket on the all-stations view and on each station's display; the grill's
// line is bumped with the number key and the bar's by tapping it, so the order becomes READY; a second
// order confirmed meanwhile appears without a reload; the queue completes the first order; the guest's
// page follows every step.
//
// Usage: BRIGADE_URL=http://127.0.0.1:PORT node kitchen-flow.mjs [screenshot-prefix]
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
const admin = await login("admin@demo.brigade");
const manager = await login("manager@demo.brigade");
const customer = await login("customer@demo.brigade");
const venue = await api("POST", "/api/venues", { name: `Kitchen Check ${Date.now()}`, timezone: "Europe/London", currency: "GBP", status: "active" }, admin);
await api("POST", `/api/restaurants/${venue.id}/members`, { email: "manager@demo.brigade", role: "manager" }, admin);
const mains = await api("POST", `/api/venues/${venue.id}/menu/categories`, { name: "Mains" }, manager);
const drinks = await api("POST", `/api/venues/${venue.id}/menu/categories`, { name: "Drinks" }, manager);
const burger = await api("POST", `/api/venues/${venue.id}/menu/items`, { category_id: mains.id, name: "Burger", price: "11.00" }, manager);
const lemonade = await api("POST", `/api/venues/${venue.id}/menu/items`, { category_id: drinks.id, name: "Lemonade", price: "3.00" }, manager);
const grill = await api("POST", `/api/venues/${venue.id}/stations`, { name: "Grill", kind: "grill", target_minutes: 10, is_default: true }, manager);
const bar = await api("POST", `/api/venues/${venue.id}/stations`, { name: "Bar", kind: "bar", target_minutes: 4 }, manager);
await api("PUT", `/api/venues/${venue.id}/station-routes`, { category_id: drinks.id, station_id: bar.id }, manager);
const qr = await api("POST", `/api/venues/${venue.id}/generate-qr`, { table: "K1" }, manager);

async function placedOrder(table) {
  const order = await api("POST", "/api/orders", {
    venue_id: venue.id, order_type: "DINE_IN", table,
    items: [{ menu_item_id: burger.id, quantity: 2, special_request: "no onion" }, { menu_item_id: lemonade.id, quantity: 1 }],
  }, customer);
  return order.id;
}
async function confirmedOrder(table) {
  const id = await placedOrder(table);
  await api("PUT", `/api/orders/${id}/status`, { status: "CONFIRMED" }, manager);
  return id;
}
const status = async (id) => (await api("GET", `/api/orders/${id}`, undefined, manager)).status;

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
  if ((await page.getByRole("link", { name: "Kitchen" }).count()) === 0) throw new Error("the venue team's navigation has no Kitchen link");

  // The order queue is open when a guest orders from table K1's QR code on a phone.
  await page.goto(`${base}/venues/${venue.id}/orders`);
  await page.getByTestId("queue-live").filter({ hasText: "live" }).waitFor();
  const guest = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  guest.on("pageerror", (err) => failures.push(`guest page error: ${err.message}`));
  await guest.goto(qr.url);
  await guest.getByTestId("venue-name").waitFor();
  await guest.getByRole("button", { name: "Add Burger" }).click();
  await guest.getByRole("button", { name: "Add Burger" }).click();
  await guest.getByRole("button", { name: "Add Lemonade" }).click();
  await guest.getByLabel("Note for Burger").fill("no onion");
  // Not signed in: ordering as a guest is the default; without a phone or e-mail it is refused, in words.
  await guest.getByTestId("guest-name").fill("Maya");
  await guest.getByTestId("place-order").click();
  await guest.locator("#order-error").filter({ hasText: "Phone: give a phone number or an e-mail" }).waitFor();
  await guest.getByTestId("guest-phone").fill("+44 7700 900123");
  if (shots) await guest.screenshot({ path: `${shots}-guest-checkout-phone.png`, fullPage: true });
  await guest.getByTestId("place-order").click();
  await guest.waitForFunction(() => document.querySelector("[data-testid=order-status]")?.textContent === "Pending");
  const first = new URL(guest.url()).searchParams.get("order");
  if (!first) throw new Error("the guest's page did not record the order");
  const guestSees = (text) => guest.waitForFunction((t) => document.querySelector("[data-testid=order-status]").textContent === t, text, { timeout: 10000 });

  // It arrives live, with its badge and the guest's name and phone, and is accepted there.
  const queued = page.getByTestId("queue-order").filter({ hasText: "Table K1" });
  await queued.waitFor({ timeout: 10000 });
  const who = await queued.getByTestId("queue-customer").textContent();
  if (!who.includes("Maya") || !who.includes("guest") || !who.includes("+44 7700 900123")) throw new Error(`the queue shows the customer as "${who}"`);
  if (!(await page.getByTestId("queue-badge").textContent()).includes("1 waiting")) throw new Error("the queue's badge does not count the waiting order");
  if (shots) await page.screenshot({ path: `${shots}-queue-desktop.png`, fullPage: true });
  await queued.getByRole("button", { name: "Accept" }).click();
  await queued.getByTestId("queue-status").filter({ hasText: "Accepted" }).waitFor();
  if ((await status(first)) !== "CONFIRMED") throw new Error(`after Accept the order is ${await status(first)}`);
  await guestSees("Confirmed");
  await guest.getByTestId("order-eta").filter({ hasText: "Ready around" }).waitFor({ timeout: 10000 });

  // All stations: one ticket, both lines, with the customer's note.
  await page.goto(`${base}/venues/${venue.id}/kitchen`);
  await page.getByTestId("kitchen-live").filter({ hasText: "live" }).waitFor();
  const ticket = page.getByTestId("ticket").filter({ hasText: "Table K1" });
  await ticket.waitFor();
  for (const text of ["2 × Burger", "no onion", "1 × Lemonade", "Grill", "Bar"]) {
    if (!(await ticket.textContent()).includes(text)) throw new Error(`the expo ticket lacks "${text}"`);
  }

  // A second order confirmed now appears without a reload.
  const second = await confirmedOrder("K2");
  await page.getByTestId("ticket").filter({ hasText: "Table K2" }).waitFor({ timeout: 10000 });
  if (shots) await page.screenshot({ path: `${shots}-kitchen-expo-desktop.png`, fullPage: true });

  // The grill sees only its line; key 1 bumps the first ticket's open lines there.
  await page.getByRole("link", { name: "Grill" }).click();
  const grillTicket = page.getByTestId("ticket").filter({ hasText: "Table K1" });
  await grillTicket.waitFor();
  if ((await grillTicket.textContent()).includes("Lemonade")) throw new Error("the grill shows the bar's line");
  await page.keyboard.press("1");
  await grillTicket.waitFor({ state: "detached", timeout: 10000 });
  if ((await status(first)) !== "PREPARING") throw new Error(`after the grill's bump the order is ${await status(first)}`);
  await guestSees("Preparing");

  // The bar taps its line twice (start, then bump): every line is ready, so the order is READY.
  await page.getByRole("link", { name: "Bar" }).click();
  const barLine = page.getByTestId("ticket").filter({ hasText: "Table K1" }).getByTestId("ticket-line");
  await barLine.waitFor();
  await barLine.click();
  await page.getByTestId("ticket").filter({ hasText: "Table K1" }).getByTestId("ticket-line").and(page.locator("[data-state=started]")).waitFor();
  await page.getByTestId("ticket").filter({ hasText: "Table K1" }).getByTestId("ticket-line").click();
  await page.getByTestId("ticket").filter({ hasText: "Table K1" }).waitFor({ state: "detached", timeout: 10000 });
  for (let i = 0; i < 20 && (await status(first)) !== "READY"; i++) await new Promise((r) => setTimeout(r, 250));
  if ((await status(first)) !== "READY") throw new Error(`after every bump the order is ${await status(first)}`);
  if ((await status(second)) !== "CONFIRMED") throw new Error(`the second order moved to ${await status(second)}`);
  await guestSees("Ready");

  // A phone-sized station display still reads.
  const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  await phone.context().addCookies(await page.context().cookies());
  await phone.goto(`${base}/venues/${venue.id}/kitchen?station=${grill.id}`);
  await phone.getByTestId("ticket").filter({ hasText: "Table K2" }).waitFor();
  if (shots) await phone.screenshot({ path: `${shots}-kitchen-grill-phone.png`, fullPage: true });

  // Back on the queue, the ready order is completed.
  await page.goto(`${base}/venues/${venue.id}/orders`);
  const ready = page.getByTestId("queue-order").filter({ hasText: "Table K1" });
  await ready.getByTestId("queue-status").filter({ hasText: "Ready" }).waitFor();
  const queuePhone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  await queuePhone.context().addCookies(await page.context().cookies());
  await queuePhone.goto(`${base}/venues/${venue.id}/orders`);
  await queuePhone.getByTestId("queue-order").first().waitFor();
  if (shots) await queuePhone.screenshot({ path: `${shots}-queue-phone.png`, fullPage: true });
  await ready.getByRole("button", { name: "Complete" }).click();
  await ready.waitFor({ state: "detached", timeout: 10000 });
  if ((await status(first)) !== "COMPLETED") throw new Error(`after Complete the order is ${await status(first)}`);
  await guestSees("Completed");
  for (const text of ["2 × Burger (no onion)", "1 × Lemonade", "25.00"]) {
    if (!(await guest.getByTestId("receipt").textContent()).includes(text)) throw new Error(`the guest's receipt lacks "${text}"`);
  }
  if (shots) await guest.screenshot({ path: `${shots}-guest-status-phone.png`, fullPage: true });
  console.log("guest QR order: refused without a contact, placed as a guest, live on the queue with the guest's name, accepted, ticket on expo and stations, bumped by key and tap, READY, completed; the guest's page followed each step");
} finally {
  await browser.close();
}
if (failures.length) {
  console.error(failures.join("\n"));
  process.exit(1);
}
