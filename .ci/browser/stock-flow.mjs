// The stock page in headless Chromium against a real `brigade serve --demo`: the demo manager's new venue
// sells a Margherita; on the stock page the manager adds mozzarella and dough, writes the pizza's recipe
// (its cost and margin show), receives a delivery of each, then a guest's order of two pizzas completes
// and the stock falls by the recipe; waste and a count follow, each reflected at once; then the stocktake
// sheet (a count kept over a reload, saved as one stocktake), the waste log (logged and valued, and the
// manager's switch for orders cancelled after cooking) and a sauce made here from its page.
//
// Usage: BRIGADE_URL=http://127.0.0.1:PORT node stock-flow.mjs [screenshot-prefix]
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
const venue = await api("POST", "/api/venues", { name: `Stock Check ${Date.now()}`, timezone: "Europe/London", currency: "GBP", status: "active" }, admin);
await api("POST", `/api/restaurants/${venue.id}/members`, { email: "manager@demo.brigade", role: "manager" }, admin);
const pizzas = await api("POST", `/api/venues/${venue.id}/menu/categories`, { name: "Pizza" }, manager);
const margherita = await api("POST", `/api/venues/${venue.id}/menu/items`, { category_id: pizzas.id, name: "Margherita", price: "9.00" }, manager);
const until = async (check, what) => {
  for (let i = 0; i < 40; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(what);
};

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
  if ((await page.getByRole("link", { name: "Stock", exact: true }).count()) === 0) throw new Error("the venue team's navigation has no Stock link");
  await page.goto(`${base}/venues/${venue.id}/inventory`);
  await page.getByTestId("stock").filter({ hasText: "No ingredients yet" }).waitFor();

  // Two ingredients from the form.
  for (const [name, unit, cost, par] of [["Mozzarella", "g", "0.01", "500"], ["Dough", "each", "0.40", "4"]]) {
    await page.locator("#new-name").fill(name);
    await page.locator("#new-unit").selectOption(unit);
    await page.locator("#new-cost").fill(cost);
    await page.locator("#new-par").fill(par);
    await page.getByRole("button", { name: "Add", exact: true }).click();
    await page.getByTestId("stock-row").and(page.locator(`[data-ingredient="${name}"]`)).waitFor();
  }
  const row = (name) => page.getByTestId("stock-row").and(page.locator(`[data-ingredient="${name}"]`));

  // The recipe: 125 g mozzarella and one dough ball; 1.25 + 0.40 = 1.65 against 9.00.
  await page.getByTestId("recipe-item").selectOption(margherita.id);
  for (const [name, quantity] of [["Mozzarella (g)", "125"], ["Dough (each)", "1"]]) {
    await page.locator("#recipe-ingredient").selectOption({ label: name });
    await page.locator("#recipe-quantity").fill(quantity);
    await page.getByRole("button", { name: "Add to recipe" }).click();
    await page.getByTestId("recipe-line").filter({ hasText: name.split(" ")[0] }).waitFor();
  }
  await page.getByTestId("recipe-cost").filter({ hasText: "£1.65" }).waitFor();
  if (!(await page.getByTestId("recipe-cost").textContent()).includes("margin £7.35")) throw new Error(`recipe cost reads ${await page.getByTestId("recipe-cost").textContent()}`);

  // Receive a delivery of each.
  for (const [name, quantity] of [["Mozzarella", "1000"], ["Dough", "10"]]) {
    await page.getByRole("button", { name: `Receive ${name}` }).click();
    await page.locator("#receive-qty").fill(quantity);
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByTestId("stock-status").filter({ hasText: `of ${name}` }).waitFor();
  }
  await row("Mozzarella").getByTestId("on-hand").filter({ hasText: "1,000 g" }).waitFor();
  await row("Dough").getByTestId("on-hand").filter({ hasText: "10 each" }).waitFor();

  // A guest orders two pizzas; the venue completes the order; the stock falls by the recipe.
  const guest = await api("POST", "/api/auth/guest", { name: "Lena", phone: "+44 7700 900777" });
  const order = await api("POST", "/api/orders", { venue_id: venue.id, order_type: "TAKEOUT", items: [{ menu_item_id: margherita.id, quantity: 2 }] }, guest.tokens.access_token);
  for (const status of ["CONFIRMED", "PREPARING", "READY", "COMPLETED"]) {
    await api("PUT", `/api/orders/${order.id}/status`, { status }, manager);
  }
  await page.reload();
  await row("Mozzarella").getByTestId("on-hand").filter({ hasText: "750 g" }).waitFor();
  await row("Dough").getByTestId("on-hand").filter({ hasText: "8 each" }).waitFor();

  // Waste, then a count that finds a little less.
  await page.getByRole("button", { name: "Waste Mozzarella" }).click();
  await page.locator("#waste-qty").fill("50");
  await page.locator("#waste-reason").selectOption("dropped");
  await page.getByRole("button", { name: "Save" }).click();
  await row("Mozzarella").getByTestId("on-hand").filter({ hasText: "700 g" }).waitFor();
  await page.getByRole("button", { name: "Count Mozzarella" }).click();
  await page.locator("#count-qty").fill("690");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByTestId("stock-status").filter({ hasText: "a difference of -10 g" }).waitFor();
  await row("Mozzarella").getByTestId("on-hand").filter({ hasText: "690 g" }).waitFor();
  const ingredients = await api("GET", `/api/venues/${venue.id}/ingredients`, undefined, manager);
  const mozzarella = ingredients.find((i) => i.name === "Mozzarella");
  if (mozzarella.on_hand !== "690" || mozzarella.value !== "6.9") throw new Error(`the API says ${JSON.stringify(mozzarella)}`);
  await until(async () => (await page.getByTestId("stock-summary").textContent()).includes("ingredients"), "no summary");
  // The export downloads the stock list as CSV.
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("stock-export").click()]);
  const csv = await (await import("node:fs/promises")).readFile(await download.path(), "utf8");
  if (!csv.startsWith("name,unit,") || !csv.includes("Mozzarella,g,,690,")) throw new Error(`the export reads ${csv}`);
  if (shots) await page.screenshot({ path: `${shots}-stock-desktop.png`, fullPage: true });

  // The stocktake sheet: a count typed survives a reload (kept on the device), then saves as one
  // stocktake with its variance; the sheet's expected column follows.
  await page.getByTestId("stocktake-link").click();
  await page.getByTestId("count-line").first().waitFor();
  await page.getByLabel("Counted Mozzarella in g").fill("680");
  await page.getByTestId("count-progress").filter({ hasText: "1 of 2 counted" }).waitFor();
  await page.reload();
  await page.getByTestId("count-line").first().waitFor();
  if ((await page.getByLabel("Counted Mozzarella in g").inputValue()) !== "680") throw new Error("the typed count was lost on reload");
  await page.getByLabel("Counted Dough in each").fill("8");
  await page.getByTestId("count-line").filter({ hasText: "Mozzarella" }).filter({ hasText: "-10 g" }).waitFor();
  await page.getByTestId("count-save").click();
  await page.getByTestId("count-status").filter({ hasText: "2 ingredient(s) counted" }).waitFor();
  await page.getByTestId("count-result").filter({ hasText: "-£0.10" }).waitFor();
  await page.getByTestId("count-line").filter({ hasText: "Mozzarella" }).filter({ hasText: "680 g" }).waitFor();
  if ((await page.getByLabel("Counted Mozzarella in g").inputValue()) !== "") throw new Error("the saved count was not cleared");
  if (shots) await page.screenshot({ path: `${shots}-stocktake-desktop.png`, fullPage: true });

  // The waste log: dropped mozzarella logged from the form shows in the log and the summary.
  await page.goto(`${base}/venues/${venue.id}/waste`);
  await page.getByTestId("waste-entry").first().waitFor();
  await page.getByTestId("waste-ingredient").selectOption({ label: "Mozzarella (680 g on hand)" });
  await page.getByTestId("waste-quantity").fill("30");
  await page.getByTestId("waste-reason").selectOption("spoiled");
  await page.getByTestId("waste-save").click();
  await page.getByTestId("waste-status").filter({ hasText: "Logged: 30 g of Mozzarella" }).waitFor();
  await page.getByTestId("waste-entry").first().filter({ hasText: "Spoiled" }).waitFor();
  // 50 g dropped and 30 g spoiled at 0.01: £0.80.
  await page.getByTestId("waste-value").filter({ hasText: "£0.80" }).waitFor();
  // The manager decides that orders cancelled after cooking are waste.
  await page.getByTestId("waste-cancelled").check();
  await page.getByTestId("waste-status").filter({ hasText: "now count as waste" }).waitFor();
  if (!(await api("GET", `/api/venues/${venue.id}/stock-settings`, undefined, manager)).waste_cancelled_cooking) throw new Error("the switch did not save");
  if (shots) await page.screenshot({ path: `${shots}-waste-desktop.png`, fullPage: true });
  const after = (await api("GET", `/api/venues/${venue.id}/ingredients`, undefined, manager)).find((i) => i.name === "Mozzarella");
  if (after.on_hand !== "650") throw new Error(`after the count and the waste the API says ${JSON.stringify(after)}`);

  // A sauce made here: its recipe written on its page (1.6 kg tomatoes make 2 l), then a batch made.
  const tomatoes = await api("POST", `/api/venues/${venue.id}/ingredients`, { name: "Tomatoes", unit: "g", unit_cost: "0.003" }, manager);
  await api("POST", `/api/venues/${venue.id}/ingredients/${tomatoes.id}/receipts`, { quantity: "5000", unit_cost: "0.003" }, manager);
  const sauce = await api("POST", `/api/venues/${venue.id}/ingredients`, { name: "Tomato sauce", unit: "ml" }, manager);
  await page.goto(`${base}/venues/${venue.id}/inventory/${sauce.id}`);
  await page.getByTestId("made").filter({ hasText: "Bought, not made here" }).waitFor();
  await page.locator("#made-ingredient").selectOption({ label: "Tomatoes (g)" });
  await page.locator("#made-quantity").fill("1600");
  await page.locator("#made-yield").fill("2000");
  await page.getByRole("button", { name: "Save to recipe" }).click();
  await page.getByTestId("made-summary").filter({ hasText: "£4.80" }).waitFor();
  await page.getByRole("button", { name: "Record a batch made" }).click();
  await page.getByTestId("ingredient-status").filter({ hasText: "Made 2,000 ml" }).waitFor();
  await page.getByTestId("fact-on-hand").filter({ hasText: "2,000 ml" }).waitFor();
  const stocked = await api("GET", `/api/venues/${venue.id}/ingredients`, undefined, manager);
  if (stocked.find((i) => i.name === "Tomatoes").on_hand !== "3400") throw new Error(`making the sauce left ${JSON.stringify(stocked)}`);
  if (shots) await page.screenshot({ path: `${shots}-made-desktop.png`, fullPage: true });
  const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  await phone.context().addCookies(await page.context().cookies());
  await phone.goto(`${base}/venues/${venue.id}/inventory`);
  await phone.getByTestId("stock-row").first().waitFor();
  if (shots) await phone.screenshot({ path: `${shots}-stock-phone.png`, fullPage: true });
  for (const screen of ["stocktake", "waste"]) {
    await phone.goto(`${base}/venues/${venue.id}/${screen}`);
    await phone.getByTestId(screen === "stocktake" ? "count-line" : "waste-entry").first().waitFor();
    if (shots) await phone.screenshot({ path: `${shots}-${screen}-phone.png`, fullPage: true });
  }
  console.log("stock page: ingredients added, recipe costed, deliveries received, a completed order took its recipe from stock, waste and a count recorded; the stocktake sheet kept a typed count over a reload and saved one stocktake; the waste log logged and valued waste; a sauce's recipe written and a batch made on its page");
} finally {
  await browser.close();
}
if (failures.length) {
  console.error(failures.join("\n"));
  process.exit(1);
}
