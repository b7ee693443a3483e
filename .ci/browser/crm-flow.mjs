// The KAM dashboard in headless Chromium against a real `brigade serve --demo`: the demo KAM signs in
// through the login form, sees today's calls, opens a restaurant, logs a call with the form (the timeline
// gains it in place, without a reload), then an administrator reassigns that restaurant to another KAM
// with a handover note, and the new KAM finds it, with the old KAM's call still attributed to them.
//
// Usage: BRIGADE_URL=http://127.0.0.1:PORT node crm-flow.mjs [screenshot-prefix]
import { chromium } from "playwright-core";

const base = process.env.BRIGADE_URL;
if (!base) throw new Error("set BRIGADE_URL");
const password = "brigade-demo";
const shots = process.argv[2];

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
  await page.getByTestId("signed-in-as").waitFor();
  return page;
}

try {
  // 1. The KAM signs in and sees today's calls in their zone.
  const kamContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const kam = await signIn(kamContext, "kam@demo.brigade");
  await kam.goto(`${base}/crm`);
  const heading = await kam.getByTestId("calls-heading").textContent();
  if (!heading.includes("Asia/Kolkata")) throw new Error(`calls heading: ${heading}`);
  const rows = await kam.getByTestId("call-row").count();
  if (rows < 1) throw new Error("no calls due for the demo KAM");
  if (shots) await kam.screenshot({ path: `${shots}-dashboard.png`, fullPage: true });

  // 2. Open the first due restaurant and log a call with the form.
  await kam.getByTestId("call-row").first().locator("a").click();
  const name = (await kam.locator("h1").textContent()).trim();
  // The forecast's outlook for the next 7 days beside the last 7.
  const outlook = await kam.getByTestId("crm-outlook").textContent();
  if (!outlook.includes("orders expected") || !outlook.includes("in the last 7 days")) throw new Error(`outlook: ${outlook}`);
  const before = await kam.getByTestId("timeline-item").count();
  const note = `Browser check ${Date.now()}`;
  await kam.locator("#kind").selectOption("call");
  await kam.locator("#outcome").selectOption("positive");
  await kam.locator("#notes").fill(note);
  const url = kam.url();
  await kam.getByRole("button", { name: "Log it" }).click();
  await kam.getByTestId("timeline").getByText(note).waitFor();
  if (kam.url() !== url) throw new Error("logging reloaded the page");
  const after = await kam.getByTestId("timeline-item").count();
  if (after !== before + 1) throw new Error(`timeline had ${before} items, now ${after}`);
  // The call is stored: a fresh load shows it first.
  await kam.reload();
  const first = await kam.getByTestId("timeline-item").first().textContent();
  if (!first.includes(note) || !first.includes("Kiran Mehta")) throw new Error(`first timeline item: ${first}`);
  if (shots) await kam.screenshot({ path: `${shots}-restaurant.png`, fullPage: true });
  const restaurantUrl = kam.url();

  // 3. An administrator reassigns it to the London KAM with a note.
  const adminContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const admin = await signIn(adminContext, "admin@demo.brigade");
  await admin.goto(`${base}/crm/reassign`);
  await admin.getByRole("checkbox", { name }).check();
  await admin.getByLabel("New KAM").selectOption({ label: "Olivia Hart" });
  await admin.getByLabel("Handover note").fill("Kiran hands over to Olivia");
  await admin.getByRole("button", { name: "Reassign" }).click();
  const done = await admin.getByTestId("reassigned").textContent();
  if (!done.includes("1 restaurant")) throw new Error(`reassignment said: ${done}`);

  // 4. Kiran no longer sees it; Olivia does, with the history and Kiran's call.
  const gone = await kam.goto(restaurantUrl);
  if (gone.status() !== 404) throw new Error(`the old KAM got ${gone.status()} for the restaurant`);
  const oliviaContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const olivia = await signIn(oliviaContext, "kam.london@demo.brigade");
  await olivia.goto(`${base}/crm/restaurants?q=${encodeURIComponent(name)}`);
  await olivia.getByRole("link", { name }).click();
  const kamLine = await olivia.getByTestId("kam").textContent();
  if (!kamLine.includes("Olivia Hart")) throw new Error(`KAM line: ${kamLine}`);
  const history = await olivia.getByTestId("assignments").textContent();
  if (!history.includes("Kiran hands over to Olivia")) throw new Error(`assignment history: ${history}`);
  const kept = await olivia.getByTestId("timeline-item").first().textContent();
  if (!kept.includes(note) || !kept.includes("Kiran Mehta")) throw new Error(`Olivia's timeline: ${kept}`);
  if (shots) await olivia.screenshot({ path: `${shots}-reassigned.png`, fullPage: true });
} catch (err) {
  failures.push(err.stack || String(err));
} finally {
  await browser.close();
}
if (failures.length) {
  console.error(failures.join("\n"));
  process.exit(1);
}
console.log("CRM: sign-in, today's calls, a call logged in place, reassignment with history all work in Chromium");
