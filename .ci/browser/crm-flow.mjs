// The KAM dashboard in headless Chromium against a real `brigade serve --demo`: the demo KAM signs in
// through the login form; her home lists only her restaurants (as many as the CRM gives her); a settings
// form with a bad line comes back with the problem beside the field and what she typed kept; she sees
// today's calls, opens a restaurant, logs a call with the form (the timeline, its count and the call
// plan change in place, without a reload); her session ends while she types a second note, and the
// page keeps it, asks her to sign in again in a new tab, and then logs it; then an administrator
// reassigns that restaurant to another KAM with a handover note, and the new KAM finds it, with the
// old KAM's call still attributed to them.
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

  // 1a. Her home lists only her restaurants: as many as the CRM gives her (active and new ones), and
  // none of another KAM's.
  await kam.goto(`${base}/`);
  const homeCount = Number(await kam.getByTestId("stat-restaurants").textContent());
  const homeText = await kam.locator("main").textContent();
  if (homeText.includes("Ember & Oak")) throw new Error("another KAM's restaurant is on her home");
  let crmCount = 0;
  for (const status of ["active", "new"]) {
    await kam.goto(`${base}/crm/restaurants?status=${status}`);
    crmCount += Number(await kam.getByTestId("crm-total").textContent());
  }
  if (homeCount !== crmCount || homeCount < 1) throw new Error(`home says ${homeCount} restaurants, the CRM ${crmCount}`);

  // 1b. A settings form with a bad line comes back with the problem beside the field, in words, and
  // keeps what she typed; nothing is saved until it is put right.
  await kam.goto(`${base}/crm/settings`);
  const region = await kam.locator("#region").inputValue();
  const hours = await kam.locator("#working_hours").inputValue();
  await kam.locator("#region").fill("Browser check region");
  await kam.locator("#working_hours").fill(`${hours}\nFunday 9-5`);
  await kam.getByRole("button", { name: "Save" }).click();
  const problem = await kam.getByTestId("working-hours-problem").textContent();
  if (!problem.startsWith("Working hours") || !problem.includes("Funday 9-5")) throw new Error(`hours problem: ${problem}`);
  if (!(await kam.locator("#working_hours").evaluate((e) => e.classList.contains("is-invalid")))) throw new Error("the field is not marked");
  if ((await kam.locator("#region").inputValue()) !== "Browser check region") throw new Error("the region typed was lost");
  if (!(await kam.locator("#working_hours").inputValue()).includes("Funday 9-5")) throw new Error("the hours typed were lost");
  if (shots) await kam.screenshot({ path: `${shots}-settings-error.png`, fullPage: true });
  await kam.locator("#region").fill(region);
  await kam.locator("#working_hours").fill(hours);
  await kam.getByRole("button", { name: "Save" }).click();
  await kam.getByTestId("saved").waitFor();

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
  const total = async () => Number((await kam.getByTestId("timeline-total").textContent()).match(/\((\d+)\)/)[1]);
  const before = await total();
  const note = `Browser check ${Date.now()}`;
  await kam.locator("#kind").selectOption("call");
  await kam.locator("#outcome").selectOption("positive");
  await kam.locator("#notes").fill(note);
  const url = kam.url();
  await kam.evaluate(() => { window.__sameDocument = true; });
  await kam.getByRole("button", { name: "Log it" }).click();
  await kam.getByTestId("timeline").getByText(note).waitFor();
  if (kam.url() !== url || !(await kam.evaluate(() => window.__sameDocument))) throw new Error("logging reloaded the page");
  const after = await total();
  if (after !== before + 1) throw new Error(`the timeline said ${before}, now ${after}`);
  if ((await kam.locator("#notes").inputValue()) !== "") throw new Error("the form was not cleared");
  const plan = await kam.getByTestId("call-plan").textContent();
  if (plan.includes("Last call: never")) throw new Error(`the call plan did not follow: ${plan}`);

  // 2b. Her session ends while she types another note: the page keeps it, asks her to sign in again,
  // and after she has (in a new tab, as offered) the same button logs it.
  const kept = `Kept across a new sign-in ${Date.now()}`;
  await kam.locator("#notes").fill(kept);
  await kamContext.clearCookies({ name: "brigade_session" });
  await kam.getByRole("button", { name: "Log it" }).click();
  await kam.getByTestId("session-ended").waitFor();
  if ((await kam.locator("#notes").inputValue()) !== kept) throw new Error("the note was lost when the session ended");
  if ((await kam.getByTestId("timeline").textContent()).includes("Sign in to Brigade")) throw new Error("the sign-in page was pasted into the timeline");
  if (shots) await kam.screenshot({ path: `${shots}-session-ended.png` });
  const [tab] = await Promise.all([
    kamContext.waitForEvent("page"),
    kam.getByRole("link", { name: "Sign in again" }).click(),
  ]);
  await tab.locator("#email").fill("kam@demo.brigade");
  await tab.locator("#password").fill(password);
  await tab.getByRole("button", { name: "Sign in" }).click();
  await tab.getByTestId("signed-in-as").waitFor();
  if (!tab.url().startsWith(url)) throw new Error(`the new tab landed on ${tab.url()}, not the page it was asked for`);
  await tab.close();
  await kam.getByRole("button", { name: "Log it" }).click();
  await kam.getByTestId("timeline").getByText(kept).waitFor();
  if ((await total()) !== after + 1) throw new Error("the kept note was not logged once");
  // The call is stored: a fresh load shows it first.
  await kam.reload();
  const stored = await kam.getByTestId("timeline").textContent();
  if (!stored.includes(note) || !stored.includes(kept) || !stored.includes("Kiran Mehta")) throw new Error(`the timeline after a reload: ${stored}`);
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
  const olivias = await olivia.getByTestId("timeline").textContent();
  if (!olivias.includes(note) || !olivias.includes(kept) || !olivias.includes("Kiran Mehta")) throw new Error(`Olivia's timeline: ${olivias}`);
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
console.log("CRM: sign-in, her own restaurants at home, a form error beside its field with the input kept, today's calls, a call logged in place, a note kept across an ended session, reassignment with history all work in Chromium");
