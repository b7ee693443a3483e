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
      for (const path of [...paths, ...extra]) await check(page, path, scheme, email);
      await context.close();
    }
  }
} finally {
  await browser.close();
}

async function check(page, path, scheme, who) {
  await page.goto(`${base}${path}`, { waitUntil: "networkidle" });
  // Venue pages that lead to a venue's own screen: follow to the first venue.
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
