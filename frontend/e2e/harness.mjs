// What every browser script shares: Debian's Chromium through
// playwright-core, a page that collects its own errors, screenshots, steps
// and checks, and signing in with the one-time login link. app/uitest runs
// the scripts; each says in its head which environment it reads.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { cspHolds, watchCSP } from "./csp.mjs";

/** passphrase is the vault's, as app/uitest makes it. */
export const passphrase = process.env.CAIRN_PASSPHRASE ?? "correct horse battery staple";

/** need returns the environment variables named, or exits saying how to
 * run the script when one is missing. */
export function need(names, how) {
  const vals = names.map((n) => process.env[n]);
  if (vals.some((v) => !v)) {
    console.error(`set ${names.join(", ")}: ${how}`);
    process.exit(2);
  }
  return vals;
}

/** stepper prints each step with the script's prefix. */
export function stepper(prefix) {
  return (name) => console.log(`${prefix}: ${name}`);
}

export function check(ok, what) {
  if (!ok) throw new Error(`check failed: ${what}`);
}

/** launch starts Chromium headless. Tests run as root, where Chromium's
 * sandbox cannot start. */
export function launch() {
  return chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", headless: true, args: ["--no-sandbox"] });
}

/** openPage opens a page in a new context that keeps the page's errors
 * (uncaught exceptions, and console errors but failed loads, unless
 * consoleErrors is false) in pageErrors; csp watches the
 * Content-Security-Policy (csp.mjs); acceptDialogs accepts confirm()s
 * (else Playwright dismisses them). */
export async function openPage(browser, { viewport = { width: 1200, height: 820 }, csp = false, consoleErrors = true, acceptDialogs = false } = {}) {
  const context = await browser.newContext({ viewport });
  if (csp) await watchCSP(context);
  const page = await context.newPage();
  page.setDefaultTimeout(60_000);
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  if (consoleErrors) {
    page.on("console", (m) => {
      if (m.type() === "error" && !/Failed to load resource/.test(m.text())) pageErrors.push(m.text());
    });
  }
  if (acceptDialogs) page.on("dialog", (d) => d.accept());
  return { context, page, pageErrors };
}

/** shots is the screenshot folder (CAIRN_SHOTS, else fallback), made. */
export function shots(fallback) {
  const dir = process.env.CAIRN_SHOTS ?? fallback;
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** shooter returns shot(name): a screenshot named prefix + a running
 * number + name, in dir. */
export function shooter(page, dir, prefix = "") {
  let n = 0;
  return (name) => page.screenshot({ path: join(dir, `${prefix}${String(++n).padStart(2, "0")}-${name}.png`) });
}

/** screen waits for the app to show a screen (main[data-screen]). */
export function screen(page, name) {
  return page.locator(`main[data-screen="${name}"]`).waitFor();
}

/** toChat waits for the chat, unlocking the vault first if the server
 * did not (no passphrase at its start). */
export async function toChat(page, pass = passphrase) {
  const first = page.locator('main[data-screen="unlock"], main[data-screen="chat"]').first();
  await first.waitFor();
  if ((await first.getAttribute("data-screen")) === "unlock") {
    await page.getByLabel("Passphrase", { exact: true }).fill(pass);
    await page.keyboard.press("Enter");
    await screen(page, "chat");
  }
}

/** noPageErrors checks that the page reported no error. */
export function noPageErrors(pageErrors) {
  check(pageErrors.length === 0, `no errors in the page: ${pageErrors.join("; ")}`);
}

/** cleanEnd ends a script that watched the Content-Security-Policy: no
 * page error, no violation, and the policy enforced. Last, because the
 * probe of cspHolds makes the browser report an error on purpose. */
export async function cleanEnd(page, pageErrors, step, what) {
  noPageErrors(pageErrors);
  step(`${what} caused no Content-Security-Policy violation, and the policy is enforced`);
  await cspHolds(page);
}

/** failed reports a script's failure: a screenshot of where it stopped,
 * the error and the page's own errors; the script exits non-zero. */
export async function failed(e, shot, pageErrors = []) {
  await shot().catch(() => {});
  console.error(e);
  if (pageErrors.length) console.error("page errors:", pageErrors);
  process.exitCode = 1;
}
