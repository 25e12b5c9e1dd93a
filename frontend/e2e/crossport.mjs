// The cross-port cookie probe: sign in through the login link, then visit
// another local server on another port, as a person would. Browsers send
// the session cookie there too; app/uitest (TestCrossPortCookieIsUseless)
// replays what it received. Environment: CAIRN_LOGIN_URL, OTHER_URL,
// CHROMIUM.
import { launch } from "./harness.mjs";

const browser = await launch();
try {
  const page = await browser.newPage();
  const violations = [];
  page.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
  });
  await page.goto(process.env.CAIRN_LOGIN_URL);
  // Signed in: the app shows a screen other than sign-in and loading.
  await page.waitForSelector("main[data-screen]:not([data-screen=loading]):not([data-screen=signin])", { timeout: 60000 });
  const screen = await page.getAttribute("main[data-screen]", "data-screen");
  if (page.url().includes("cairn-session")) throw new Error("the page secret stayed in the address bar: " + page.url());
  await page.goto(process.env.OTHER_URL);
  await page.waitForSelector("body");
  if (violations.length) throw new Error("CSP violations: " + violations.join("; "));
  console.log(`crossport: OK (signed in to ${screen})`);
} finally {
  await browser.close();
}
