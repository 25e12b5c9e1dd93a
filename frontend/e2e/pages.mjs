// The Sync and Gyms pages on a restarted server (app/uitest restarts
// `cairn serve --ui` over the home e2e.mjs made, with libp2p on loopback,
// and runs a real gym, `cairn gym serve`, on loopback HTTP):
// sync is off, Pair shows a code, its QR and a countdown, a bad code is
// refused; the gym is added, the rated answer is up for review with its
// exact bytes, and is sent only once approved under the accepted licence.
// Environment: CAIRN_LOGIN_URL (required), CAIRN_GYM_URL, CAIRN_PASSPHRASE,
// CAIRN_SHOTS, CHROMIUM.
import { join } from "node:path";
import { check, cleanEnd, failed, launch, need, openPage, shots as shotsDir, stepper, toChat } from "./harness.mjs";

const [loginURL] = need(["CAIRN_LOGIN_URL"], "run `go test ./app/uitest`");
const shots = shotsDir("test-results/e2e");
const step = stepper("e2e pages");

const browser = await launch();
const { page, pageErrors } = await openPage(browser, { csp: true });
const shot = (name) => page.screenshot({ path: join(shots, `pages-${name}.png`) });

try {
  step("sign in (and unlock if the server did not)");
  await page.goto(loginURL);
  await toChat(page);

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

  await cleanEnd(page, pageErrors, step, "the pages");
  console.log("e2e pages: OK");
} catch (e) {
  await failed(e, () => shot("failure"), pageErrors);
} finally {
  await browser.close();
}
