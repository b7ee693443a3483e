// The menu editor and the reservation book in headless Chromium against a real `brigade serve --demo`:
// the demo manager's new venue gets a menu and two stations through the API; in the editor the manager
// reprices an item, uploads its photo, 86es another until tomorrow, routes the drinks' item to the bar
// and drags an item above another, and the API agrees with each change. With the book open on tomorrow,
// a guest books a table: it appears live with the guest's name; the manager seats and completes it, sees
// the covers against the slot's capacity, and adds a weekly time slot.
//
// Usage: BRIGADE_URL=http://127.0.0.1:PORT node workspace-flow.mjs [screenshot-prefix]
import { chromium } from "playwright-core";
import zlib from "node:zlib";

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
const venue = await api("POST", "/api/venues", { name: `Menu Check ${Date.now()}`, timezone: "Europe/London", currency: "GBP", status: "active" }, admin);
await api("POST", `/api/restaurants/${venue.id}/members`, { email: "manager@demo.brigade", role: "manager" }, admin);
const mains = await api("POST", `/api/venues/${venue.id}/menu/categories`, { name: "Mains", display_order: 0 }, manager);
const drinks = await api("POST", `/api/venues/${venue.id}/menu/categories`, { name: "Drinks", display_order: 1 }, manager);
const burger = await api("POST", `/api/venues/${venue.id}/menu/items`, { category_id: mains.id, name: "Burger", price: "11.00", display_order: 0 }, manager);
const steak = await api("POST", `/api/venues/${venue.id}/menu/items`, { category_id: mains.id, name: "Steak", price: "24.00", display_order: 1 }, manager);
const cola = await api("POST", `/api/venues/${venue.id}/menu/items`, { category_id: drinks.id, name: "Cola", price: "3.00" }, manager);
await api("POST", `/api/venues/${venue.id}/stations`, { name: "Grill", kind: "grill", target_minutes: 10, is_default: true }, manager);
const bar = await api("POST", `/api/venues/${venue.id}/stations`, { name: "Bar", kind: "bar", target_minutes: 4 }, manager);
const item = async (id) => api("GET", `/api/venues/${venue.id}/menu/items/${id}`);
const until = async (check, what) => {
  for (let i = 0; i < 40; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(what);
};

// A small PNG made here: a 2x2 orange square.
function png() {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => { let c = 0xffffffff; for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type), data]);
    const sum = Buffer.alloc(4); sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(2, 0); header.writeUInt32BE(2, 4); header[8] = 8; header[9] = 2;
  const rows = Buffer.from([0, 240, 120, 20, 240, 120, 20, 0, 240, 120, 20, 240, 120, 20]);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", header), chunk("IDAT", zlib.deflateSync(rows)), chunk("IEND", Buffer.alloc(0))]);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
});
const failures = [];
try {
  const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  page.on("pageerror", (err) => failures.push(`page error: ${err.message}`));
  page.on("dialog", (dialog) => dialog.accept());
  await page.goto(`${base}/login`);
  await page.locator("#email").fill("manager@demo.brigade");
  await page.locator("#password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByTestId("signed-in-as").waitFor();
  for (const link of ["Menu", "Reservations"]) {
    if ((await page.getByRole("link", { name: link, exact: true }).count()) === 0) throw new Error(`the venue team's navigation has no ${link} link`);
  }

  // The menu editor.
  await page.goto(`${base}/venues/${venue.id}/menu`);
  const row = (name) => page.getByTestId("menu-item").and(page.locator(`[data-item="${name}"]`));
  await row("Burger").waitFor();
  await row("Burger").getByLabel("Price of Burger").fill("12.50");
  await row("Burger").getByLabel("Price of Burger").press("Tab");
  await until(async () => (await item(burger.id)).price === "12.50", "the new price did not reach the API");
  await row("Burger").getByLabel("Photo of Burger").setInputFiles({ name: "burger.png", mimeType: "image/png", buffer: png() });
  await until(async () => ((await item(burger.id)).image_url || "").startsWith("/media/"), "the photo did not reach the API");
  await row("Burger").locator("img").waitFor();
  await row("Steak").getByTestId("eighty-six").click();
  await until(async () => !!(await item(steak.id)).unavailable_until, "86 did not reach the API");
  await row("Steak").getByTestId("eighty-six").filter({ hasText: "Back now" }).waitFor();
  await row("Cola").getByLabel("Station of Cola").selectOption(bar.id);
  await until(async () => (await api("GET", `/api/venues/${venue.id}/station-routes`, undefined, manager)).some((r) => r.menu_item_id === cola.id && r.station_id === bar.id), "the route did not reach the API");
  // Drag the steak above the burger by its handle, once the editor has redrawn after the last change.
  await page.getByTestId("menu-status").filter({ hasText: "Cola now goes to Bar" }).waitFor();
  await page.getByRole("combobox", { name: "Station of Cola" }).and(page.locator(`:has(option[value="${bar.id}"]:checked)`)).waitFor();
  let from = null;
  let to = null;
  for (let i = 0; i < 20 && !(from && to); i++) {
    await new Promise((r) => setTimeout(r, 150));
    from = await row("Steak").locator(".drag-handle").boundingBox();
    to = await row("Burger").locator(".drag-handle").boundingBox();
  }
  if (!from || !to) throw new Error("the drag handles are not on screen");
  await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
  await page.mouse.down();
  for (let step = 1; step <= 12; step++) {
    await page.mouse.move(from.x + from.width / 2, from.y + (to.y - from.y - 10) * (step / 12) + from.height / 2);
    await new Promise((r) => setTimeout(r, 30));
  }
  await page.mouse.up();
  await until(async () => {
    const menu = await api("GET", `/api/venues/${venue.id}/menu`);
    const names = menu.categories.find((c) => c.id === mains.id).items.map((i) => i.name);
    return names[0] === "Steak" && names[1] === "Burger";
  }, "dragging the steak above the burger did not reorder the menu");
  await page.getByTestId("menu-status").filter({ hasText: "Menu order saved" }).waitFor();
  if (shots) await page.screenshot({ path: `${shots}-menu-desktop.png`, fullPage: true });
  const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  await phone.context().addCookies(await page.context().cookies());
  await phone.goto(`${base}/venues/${venue.id}/menu`);
  await phone.getByTestId("menu-item").first().waitFor();
  if (shots) await phone.screenshot({ path: `${shots}-menu-phone.png`, fullPage: true });

  // The reservation book: a guest books tomorrow at 19:00.
  await api("POST", `/api/venues/${venue.id}/time-slots`, { weekday: 0, start_time: "18:00", end_time: "22:00", interval_minutes: 60, max_reservations: 4, max_covers: 20 }, manager);
  for (let day = 1; day < 7; day++) {
    await api("POST", `/api/venues/${venue.id}/time-slots`, { weekday: day, start_time: "18:00", end_time: "22:00", interval_minutes: 60, max_reservations: 4, max_covers: 20 }, manager);
  }
  const guest = await api("POST", "/api/auth/guest", { name: "Nadia", phone: "+44 7700 900555" });
  const tomorrow = new Date(Date.now() + 86400000).toLocaleDateString("en-CA", { timeZone: "Europe/London" });
  await page.goto(`${base}/venues/${venue.id}/reservations`);
  await page.getByTestId("covers-row").first().waitFor();
  await page.getByRole("button", { name: "Next day" }).click();
  await page.getByTestId("book").filter({ hasText: "No bookings on this day" }).waitFor();
  await page.getByTestId("book-live").and(page.locator(".text-bg-success")).waitFor();
  // The guest books while the page is open: it appears without a reload.
  await api("POST", `/api/venues/${venue.id}/reservations`, { date: tomorrow, time: "19:00", party_size: 4, note: "pram" }, guest.tokens.access_token);
  const booking = page.getByTestId("booking").filter({ hasText: "Nadia" });
  await booking.waitFor({ timeout: 10000 });
  for (const text of ["19:00", "4 guests", "Note: pram", "+44 7700 900555"]) {
    if (!(await booking.textContent()).includes(text)) throw new Error(`the booking lacks "${text}"`);
  }
  const covers = page.getByTestId("covers-row").and(page.locator('[data-time="19:00"]'));
  await covers.filter({ hasText: "4 / 20 guests" }).waitFor();
  await booking.getByRole("button", { name: "Seat" }).click();
  await page.getByTestId("booking").filter({ hasText: "Nadia" }).getByTestId("booking-status").filter({ hasText: "Seated" }).waitFor();
  await page.getByTestId("booking").filter({ hasText: "Nadia" }).getByRole("button", { name: "Complete" }).click();
  await page.getByTestId("booking").filter({ hasText: "Nadia" }).getByTestId("booking-status").filter({ hasText: "Completed" }).waitFor();
  const listed = await api("GET", `/api/venues/${venue.id}/reservations?date=${tomorrow}`, undefined, manager);
  if (listed.items[0].status !== "COMPLETED") throw new Error(`the API says ${listed.items[0].status}`);
  // A weekly window added from the page.
  const slotsBefore = await page.getByTestId("slot").count();
  await page.locator("#slot-day").selectOption("SUN");
  await page.locator("#slot-start").fill("12:00");
  await page.locator("#slot-end").fill("14:30");
  await page.getByRole("button", { name: "Add window" }).click();
  await until(async () => (await page.getByTestId("slot").count()) === slotsBefore + 1, "the new time slot is not listed");
  const weekly = await api("GET", `/api/venues/${venue.id}/time-slots/weekly`);
  if (!weekly.some((s) => s.weekday === 6 && s.start_time.startsWith("12:00") && s.end_time.startsWith("14:30"))) throw new Error("the new time slot is not in the API");
  if (shots) await page.screenshot({ path: `${shots}-reservations-desktop.png`, fullPage: true });
  await phone.goto(`${base}/venues/${venue.id}/reservations`);
  await phone.getByRole("button", { name: "Next day" }).click();
  await phone.getByTestId("booking").filter({ hasText: "Nadia" }).waitFor();
  if (shots) await phone.screenshot({ path: `${shots}-reservations-phone.png`, fullPage: true });
  console.log("menu editor: repriced, photo uploaded, 86 until tomorrow, routed to the bar, dragged into a new order; reservation book: a guest's booking appeared live, seated, completed, covers against capacity, a weekly slot added");
} finally {
  await browser.close();
}
if (failures.length) {
  console.error(failures.join("\n"));
  process.exit(1);
}
