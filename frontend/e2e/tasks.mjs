// The Tasks view in a real browser (app/uitest's TestGymTasksInBrowser
// runs a gym with task sets on loopback and `cairn serve --ui` over a home
// that added it): fetch a batch, do a compare task, an answer task and a
// rate task from the keyboard, review the exact bytes (their hash checked
// in the page), accept the licence, send. Each item reviewed is printed as
// "REVIEWED HASH BYTES" for the Go test to find in the gym's export.
// Environment: CAIRN_LOGIN_URL (required), CAIRN_PASSPHRASE, CAIRN_SHOTS, CHROMIUM.
import { join } from "node:path";
import { check, failed, launch, need, noPageErrors, openPage, shots as shotsDir, stepper, toChat } from "./harness.mjs";

const [loginURL] = need(["CAIRN_LOGIN_URL"], "run `go test ./app/uitest -run TestGymTasksInBrowser`");
const shots = shotsDir("test-results/tasks");
const step = stepper("tasks");

const browser = await launch();
const { page, pageErrors } = await openPage(browser);
const shot = (name) => page.screenshot({ path: join(shots, `tasks-${name}.png`) });
const task = page.locator("section.task");
const prompt = page.getByLabel("Prompt");

// reviewAndSend checks the review (bytes, hash, licence), prints what
// was reviewed, and sends it with Enter.
async function reviewAndSend(id, name) {
  const item = page.locator(".gym-item");
  await item.first().waitFor();
  await page.getByText("bytes match their hash").first().waitFor();
  const send = page.getByRole("button", { name: /Approve and send/ });
  const licence = page.getByLabel("Accept the licence");
  if (!(await licence.isChecked())) {
    check(await send.isDisabled(), "sending waits for the licence");
    await page.keyboard.press("Enter");
    check((await page.getByRole("status").count()) === 0, "Enter sent nothing before the licence was accepted");
    await page.keyboard.press("l");
    check(await licence.isChecked(), "l accepts the licence");
  }
  for (const el of await item.all()) {
    console.log(`REVIEWED ${await el.getAttribute("data-hash")} ${await el.locator("pre").textContent()}`);
  }
  await shot(name);
  await page.keyboard.press("Enter");
  await page.getByRole("status").filter({ hasText: `Task ${id}: 1 item approved, 1 delivered` }).waitFor();
}

async function fetchSet(set) {
  await page.getByLabel("Task set").selectOption(set);
  await page.evaluate(() => document.activeElement instanceof HTMLElement && document.activeElement.blur());
  await page.keyboard.press("f");
  await task.waitFor();
}

try {
  step("sign in (and unlock if the server did not)");
  await page.goto(loginURL);
  await toChat(page);

  step("Tasks: the gym's sets, nothing fetched yet; f fetches a batch");
  await page.getByRole("button", { name: "Tasks", exact: true }).click();
  await page.locator('main[data-screen="tasks"]').waitFor();
  await page.getByLabel("No tasks", { exact: true }).waitFor();
  check((await page.getByLabel("Task set").locator("option").count()) === 3, "three task sets");
  await shot("empty");
  await page.keyboard.press("f");
  await task.waitFor();
  check((await page.getByLabel("Task position").textContent()) === "1 of 2", "two compare tasks fetched");

  step("two compare tasks: a digit picks, r writes the reason, Enter reviews, l accepts, Enter sends");
  for (let i = 0; i < 2; i++) {
    const id = await task.getAttribute("data-task");
    const text = await prompt.textContent();
    await page.keyboard.press(text.includes("Portugal") ? "2" : "1");
    check((await page.locator('li[aria-current="true"]').textContent()).includes(text.includes("Portugal") ? "Lisbon." : "Madrid."), "the digit picked the answer");
    await page.keyboard.press("r");
    await page.keyboard.type(`carol knows ${text.includes("Portugal") ? "Lisbon" : "Madrid"}`);
    if (i === 0) await shot("compare");
    await page.keyboard.press("Enter");
    await reviewAndSend(id, `compare-review-${i}`);
  }
  await page.getByLabel("No tasks", { exact: true }).waitFor();

  step("an answer task: r starts from the reference, Ctrl+Enter reviews");
  await page.getByLabel("No tasks", { exact: true }).waitFor();
  await fetchSet("write");
  await page.keyboard.press("r");
  await page.keyboard.press("End");
  await page.keyboard.type(" Glad you are here.");
  check((await page.getByLabel("Your answer").inputValue()) === "Welcome aboard! Glad you are here.", "the answer starts from the reference");
  await page.keyboard.press("Control+Enter");
  await reviewAndSend("say-hi", "answer-review");

  step("a rate task: digits score the rubric in order");
  await page.getByLabel("No tasks", { exact: true }).waitFor();
  await fetchSet("quality");
  await page.keyboard.press("4");
  await page.keyboard.press("5");
  const scored = (await page.getByLabel("Rubric").locator("li").allTextContents()).map((l) => l.replace(/\s+/g, " ").trim());
  check(scored.join(", ") === "clear: 4, correct: 5", `the rubric is scored in order: ${scored}`);
  await page.keyboard.press("Enter");
  await reviewAndSend("sum", "rate-review");
  await page.getByLabel("No tasks", { exact: true }).waitFor();

  noPageErrors(pageErrors);
  step("OK");
} catch (e) {
  await failed(e, () => shot("failure"), pageErrors);
} finally {
  await browser.close();
}
