// Accessibility in headless Chromium against a real `brigade serve --demo`: axe-core (from npm) checks
// every page each role reaches from its navigation, in light and in dark mode (the system setting the
// theme follows), and reports every violation with the page, the mode and the elements.
//
// Usage: BRIGADE_URL=http://127.0.0.1:PORT node axe-flow.mjs [--report-only]
import { chromium } from "playwright-core";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const axePath = require.resolve("axe-core/axe.min.js");
const base = process.env.BRIGADE_URL;
if (!base) throw new Error("set BRIGADE_URL");
const reportOnly = process.argv.includes("--report-only");
const password = "brigade-demo";

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
});
const found = [];
const roles = [
  ["admin@demo.brigade", ["/", "/crm", "/crm/restaurants", "/crm/reassign", "/restaurants", "/monitoring", "/analytics", "/forecasts", "/admin/users", "/notifications"]],
  ["kam@demo.brigade", ["/", "/crm", "/crm/restaurants", "/crm/settings", "/notifications"]],
  ["manager@demo.brigade", ["/", "/orders", "/kitchen", "/menu", "/reservations", "/inventory", "/purchasing", "/qr"]],
];
try {
  for (const scheme of ["light", "dark"]) {
    // The login page, signed out.
    const anonymous = await browser.newContext({ colorScheme: scheme, bypassCSP: true });
    await check(await anonymous.newPage(), "/login", scheme, "anonymous");
    for (const [email, paths] of roles) {
      const context = await browser.newContext({ colorScheme: scheme, bypassCSP: true, viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      await page.goto(`${base}/login`);
      await page.locator("#email").fill(email);
      await page.locator("#password").fill(password);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByTestId("signed-in-as").waitFor({ state: "attached" });
      const extra = [];
      if (email.startsWith("kam")) {
        await page.goto(`${base}/crm/restaurants`);
        const first = await page.getByTestId("crm-table").locator("a").first().getAttribute("href");
        extra.push(first);
      }
      if (email.startsWith("admin")) {
        await page.goto(`${base}/monitoring`);
        const store = await page.getByTestId("fleet-row").locator("a").first().getAttribute("href").catch(() => null);
        if (store) extra.push(store);
      }
      if (email.startsWith("manager")) {
        // The stock pages of the venue, and the guest's order page behind one of its QR codes.
        await page.goto(`${base}/inventory`);
        for (const id of ["stocktake-link", "waste-link"]) {
          extra.push(await page.getByTestId(id).getAttribute("href"));
        }
        await page.goto(`${base}/qr`);
        const url = await page.locator("p.text-break").first().textContent();
        extra.push(new URL(url.trim()).pathname);
        if (scheme === "light") {
          // Buttons that once relied on inline handlers (which the content policy blocks) work: a
          // revoke asks first and does nothing when declined; the sheet prints.
          const codes = await page.locator("p.text-break").count();
          page.once("dialog", (dialog) => dialog.dismiss());
          await page.getByRole("button", { name: "Revoke" }).first().click();
          await page.waitForTimeout(500);
          if ((await page.locator("p.text-break").count()) !== codes) throw new Error("a declined revoke revoked the code");
          await page.evaluate(() => { window.print = () => { window.__printed = true; }; });
          await page.getByTestId("print-sheet").click();
          if (!(await page.evaluate(() => window.__printed))) throw new Error("the print button does nothing");
        }
      }
      for (const path of [...paths, ...extra]) await check(page, path, scheme, email);
      await context.close();
    }
  }
} finally {
  await browser.close();
}

async function check(page, path, scheme, who) {
  await page.goto(`${base}${path}`, { waitUntil: "networkidle" });
  await page.addScriptTag({ path: axePath });
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
  });
  for (const v of result) found.push({ path: new URL(page.url()).pathname, scheme, who, ...v });
}

for (const v of found) console.log(`${v.scheme} ${v.path} (${v.who}): ${v.id} [${v.impact}] ${v.help}: ${v.nodes.join(", ")}`);
const pages = new Set(found.map((v) => `${v.scheme} ${v.path}`));
console.log(`${found.length} violation(s) on ${pages.size} page view(s)`);
if (found.length && !reportOnly) process.exit(1);
