// Another device's models in the laptop's UI (app/uitest pairs two real
// `cairn serve --ui`, desk sharing its models and the only one with an
// Ollama): the model switcher lists desk's models under "On desk · online",
// a chat through one streams and is kept; Settings has the sharing toggle;
// with desk stopped its models read offline and a chat says so, keeping
// nothing.
// Environment: CAIRN_LOGIN_URL (the laptop's), CAIRN_DESK_PID (required),
// CAIRN_PASSPHRASE, CAIRN_SHOTS, CHROMIUM.
import { join } from "node:path";
import { check, failed, launch, need, noPageErrors, openPage, shots as shotsDir, stepper, toChat as unlockToChat } from "./harness.mjs";

const [loginURL, deskPIDText] = need(["CAIRN_LOGIN_URL", "CAIRN_DESK_PID"], "run `go test ./app/uitest`");
const deskPID = Number(deskPIDText);
const shots = shotsDir("test-results/devices");
const step = stepper("e2e devices");

const browser = await launch();
// A device out of reach makes the console report failed requests: only
// uncaught errors count here.
const { page, pageErrors } = await openPage(browser, { consoleErrors: false });
const shot = (name) => page.screenshot({ path: join(shots, `devices-${name}.png`) });

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const toChat = () => unlockToChat(page);

try {
  step("sign in to the laptop, whose own Ollama is not running");
  await page.goto(loginURL);
  await toChat();

  step("the switcher lists desk's models under its name, online");
  const group = page.locator('select[aria-label="Model"] optgroup[label="On desk · online"]');
  await group.waitFor({ state: "attached" });
  const option = group.locator("option").first();
  const model = await option.getAttribute("value");
  check(model?.startsWith("desk/"), `desk's model is named desk/MODEL (${model})`);
  await page.getByLabel("Model", { exact: true }).selectOption(model);
  check((await page.getByLabel("Cannot send").count()) === 0, "the composer is not blocked by the laptop's missing Ollama");
  await shot("switcher");

  step("a chat through desk streams and is kept");
  const composer = page.getByLabel("Message", { exact: true });
  await composer.fill("Hello from the laptop");
  await composer.press("Enter");
  const streaming = page.locator('article[data-role="assistant"][data-streaming="true"]');
  await streaming.waitFor();
  await streaming.waitFor({ state: "detached", timeout: 120_000 });
  const reply = page.locator('article[data-role="assistant"]').last();
  check(((await reply.locator(".md").textContent()) ?? "").length > 0, "desk's reply has text");
  await shot("reply");

  step("Settings has the sharing toggle, off by default, and saves it");
  await page.getByRole("button", { name: "Settings", exact: true }).click();
  const share = page.getByLabel("Let my other devices use this device's models");
  await share.waitFor();
  check(!(await share.isChecked()), "sharing is off by default");
  await share.check();
  await page.getByRole("status").filter({ hasText: "Saved." }).waitFor();
  await shot("share-toggle");
  await page.getByRole("button", { name: "Chat", exact: true }).click();
  await page.locator('main[data-screen="chat"]').waitFor();

  step("desk stops: its models read offline, and a chat says so");
  process.kill(deskPID, "SIGTERM");
  while (alive(deskPID)) await new Promise((r) => setTimeout(r, 20)); // until it has exited (the Go test reaps it)
  await page.reload();
  await toChat();
  const offline = page.locator('select[aria-label="Model"] optgroup[label="On desk · offline"]');
  await offline.waitFor({ state: "attached" });
  await page.getByLabel("Model", { exact: true }).selectOption(model);
  await page.getByLabel("Device offline").filter({ hasText: "desk is offline" }).waitFor();
  const afterReload = await page.locator("article").count();
  await composer.fill("Are you there?");
  await composer.press("Enter");
  await page.getByRole("alert").filter({ hasText: "your device desk is not reachable" }).waitFor();
  check((await page.locator("article").count()) === afterReload, "the refused chat added no message");
  check((await composer.inputValue()) === "Are you there?", "the question is back in the composer");
  await shot("offline");

  noPageErrors(pageErrors);
  console.log("e2e devices: OK");
} catch (e) {
  await failed(e, () => shot("failure"), pageErrors);
} finally {
  await browser.close();
}
