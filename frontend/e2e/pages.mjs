// The Sync and Gyms pages on a restarted server (app/uitest restarts
// `cairn serve --ui` over the home e2e.mjs made, with libp2p on loopback,
// and runs a real gym, `cairn gym serve`, on loopback HTTP):
// sync is off, Pair shows a code, its QR and a countdown, a bad code is
// refused; the gym is added, the rated answer is up for review with its
// exact bytes, and is sent only once approved under the accepted licence.
// Environment: CAIRN_LOGIN_URL (required), CAIRN_GYM_URL, CAIRN_PASSPHRASE,
// CAIRN_SHOTS, CHROMIUM.
import { chromium } from "playwright-core";
import { cspHolds, watchCSP } from "./csp.mjs";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const loginURL = process.env.CAIRN_LOGIN_URL;
if (!loginURL) {
  console.error("CAIRN_LOGIN_URL is not set: run `go test ./app/uitest`");
  process.exit(2);
}
const pass = process.env.CAIRN_PASSPHRASE ?? "correct horse battery staple";
const shots = process.env.CAIRN_SHOTS ?? "test-results/e2e";
mkdirSync(shots, { recursive: true });
const step = (name) => console.log(`e2e pages: ${name}`);
function check(ok, what) {
  if (!ok) throw new Error(`check failed: ${what}`);
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", headless: true, args: ["--no-sandbox"] });
const context = await browser.newContext({ viewport: { width: 1200, height: 820 } });
await watchCSP(context);
const page = await context.newPage();
page.setDefaultTimeout(60_000);
const pageErrors = [];
page.on("pageerror", (e) => pageErrors.push(String(e)));
page.on("console", (m) => {
  if (m.type() === "error" && !/Failed to load resource/.test(m.text())) pageErrors.push(m.text());
});
const shot = (name) => page.screenshot({ path: join(shots, `pages-${name}.png`) });

try {
  step("sign in (and unlock if the server did not)");
  await page.goto(loginURL);
  const first = page.locator('main[data-screen="unlock"], main[data-screen="chat"]').first();
  await first.waitFor();
  if ((await first.getAttribute("data-screen")) === "unlock") {
    await page.getByLabel("Passphrase", { exact: true }).fill(pass);
    await page.keyboard.press("Enter");
    await page.locator('main[data-screen="chat"]').waitFor();
  }

  step("Settings → Sync: off until paired");
  await page.getByRole("button", { name: "Settings", exact: true }).click();
  await page.getByRole("button", { name: "Sync", exact: true }).click();
  await page.locator('main[data-section="sync"]').waitFor();
  const state = page.getByLabel("Sync state");
  await state.waitFor();
  check(/Sync is off/.test(await state.textContent()), `sync reads as off: ${await state.textContent()}`);
  check((await page.getByLabel("Devices").count()) === 0 && (await page.getByText("No other devices yet.").count()) === 1, "no devices yet");
  await shot("off");

  step("Pair shows a short code to read aloud, the long code, its QR and how long it is good for");
  await page.getByRole("button", { name: "Pair a device" }).click();
  const code = page.getByLabel("Pair code");
  await code.waitFor();
  const text = ((await code.textContent()) ?? "").trim();
  check(/^CAIRN1-[A-Z2-7]{16,}$/.test(text), `a pairing code is shown (${text})`);
  const short = ((await page.getByLabel("Short pairing code").textContent()) ?? "").trim();
  check(/^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/.test(short), `a short code to read aloud is shown (${short})`);
  await page.getByText("Not on the same network? Scan the QR code").waitFor();
  await page.getByRole("img", { name: "QR code of the pairing code" }).waitFor();
  const left = (await page.getByLabel("Code expires in").textContent()) ?? "";
  check(/Good for (9|10):\d\d/.test(left), `the code's countdown shows (${left})`);
  await page.waitForFunction(() => /Sync is on/.test(document.querySelector('[aria-label="Sync state"]')?.textContent ?? ""));
  await shot("pair-code");

  step("a wrong code to join is refused with a clear message");
  await page.getByLabel("Pairing code from the other device").fill("NOT-A-PAIRING-CODE");
  await page.getByRole("button", { name: "Join", exact: true }).click();
  await page.getByRole("alert").filter({ hasText: "not a cairn pairing code" }).waitFor();
  await page.getByText("the memories already on this device are kept and merged").waitFor();
  await shot("join-refused");

  const gymURL = process.env.CAIRN_GYM_URL;
  if (gymURL) {
    step("add a real gym: nothing is sent but the manifest request");
    await page.getByRole("button", { name: "Gyms", exact: true }).click();
    await page.getByLabel("No gyms").waitFor();
    await page.getByLabel("Gym address").fill(gymURL);
    await page.getByRole("button", { name: "Add gym" }).click();
    await page.getByRole("status").filter({ hasText: "Added Test gym. Nothing was sent" }).waitFor();

    step("review: the rated answer, its exact bytes, checked against its hash");
    await page.getByRole("button", { name: "Review" }).click();
    const item = page.locator(".gym-item").first();
    await item.waitFor();
    const bytes = (await item.getByLabel("Exact bytes to send").textContent()) ?? "";
    check(bytes.startsWith("{") && JSON.parse(bytes) !== null, `the item's bytes are shown as JSON (${bytes.slice(0, 80)})`);
    await item.getByText("bytes match their hash").waitFor();
    const submit = page.getByRole("button", { name: /^Approve 1 and send/ });
    await item.getByLabel("Approve").check();
    check(await submit.isDisabled(), "approving waits for the licence to be accepted");
    await page.getByLabel(/I accept that the approved items are given under the licence CC-BY-4.0/).check();
    await shot("gym-review");
    await submit.click();
    await page.getByRole("status").filter({ hasText: "1 approved" }).waitFor();
    check(/1 delivered/.test((await page.getByRole("status").filter({ hasText: "1 approved" }).textContent()) ?? ""), "the approved item was delivered to the gym");
    await page.getByText(/accepted/).first().waitFor();
    await shot("gym-sent");
  }

  step("both themes: the sections in the dark theme");
  await page.emulateMedia({ colorScheme: "dark" });
  await shot("gym-dark");
  await page.getByRole("button", { name: "Sync", exact: true }).click();
  await page.getByLabel("Sync state").waitFor();
  await shot("sync-dark");
  await page.getByRole("button", { name: "Export and import", exact: true }).click();
  await page.getByLabel("File to import").waitFor();
  await shot("data-dark");

  check(pageErrors.length === 0, `no errors in the page: ${pageErrors.join("; ")}`);
  // Last: the probe of cspHolds makes the browser report an error on purpose.
  step("the pages caused no Content-Security-Policy violation, and the policy is enforced");
  await cspHolds(page);
  console.log("e2e pages: OK");
} catch (e) {
  await shot("failure").catch(() => {});
  console.error(e);
  if (pageErrors.length) console.error("page errors:", pageErrors);
  process.exitCode = 1;
} finally {
  await browser.close();
}
