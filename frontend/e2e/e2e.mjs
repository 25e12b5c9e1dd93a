// End to end through a real browser: Debian's Chromium driven by
// playwright-core, against a real `cairn serve --ui` and a real Ollama with
// the tiny model. app/uitest starts both and runs this script; by hand:
//   CAIRN_LOGIN_URL=http://127.0.0.1:7420/login?code=… node e2e/e2e.mjs
// Environment: CAIRN_LOGIN_URL (required), CAIRN_PASSPHRASE, CAIRN_MODEL
// (default tiny:latest), CAIRN_SHOTS (screenshot folder, default
// test-results/e2e), CHROMIUM (default /usr/bin/chromium).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { check, cleanEnd, failed, launch, need, openPage, passphrase as pass, screen as screenOf, shooter, shots as shotsDir, stepper } from "./harness.mjs";

const [loginURL] = need(["CAIRN_LOGIN_URL"], "run `go test ./app/uitest`, or start `cairn serve --ui` and pass its login link");
const model = process.env.CAIRN_MODEL ?? "tiny:latest";
const shots = shotsDir("test-results/e2e");
const step = stepper("e2e");

const browser = await launch();
const { page, pageErrors } = await openPage(browser, { csp: true, acceptDialogs: true });
const shot = shooter(page, shots);
const screen = (name) => screenOf(page, name);

try {
  step("sign in with the one-time link; the first run asks for a vault");
  await page.goto(loginURL);
  await page.getByRole("heading", { name: "Create your vault" }).waitFor();
  check((await page.title()) === "Cairn", "the title is Cairn");
  // The focus starts on the passphrase field.
  check(await page.getByLabel("Passphrase", { exact: true }).evaluate((el) => el === document.activeElement), "focus starts on Passphrase");
  await page.keyboard.type(pass);
  await page.keyboard.press("Tab");
  await page.keyboard.type(pass + "x");
  await page.getByText("The two passphrases differ.").first().waitFor();
  await page.getByLabel("Repeat passphrase").fill(pass);
  check((await page.locator("#strength").textContent()).includes("strong"), "a long passphrase reads as strong");
  await shot("create-vault");
  await page.getByRole("button", { name: "Create vault" }).click();

  step("the recovery key, shown once");
  const key = (await page.getByLabel("Recovery key", { exact: true }).textContent())?.trim() ?? "";
  check(key.length >= 20, `a recovery key is shown (${key.length} characters)`);
  check(await page.getByRole("button", { name: "Continue" }).isDisabled(), "Continue waits for the saved-key box");
  await shot("recovery-key");
  await page.getByLabel("I have saved my recovery key").check();
  await page.getByRole("button", { name: "Continue" }).click();

  step("models: Ollama answers; pick the chat and embedding models");
  await screen("models");
  await page.getByLabel("Chat model").selectOption(model);
  await page.getByLabel("Embedding model").selectOption(model);
  await shot("models");
  await page.getByRole("button", { name: "Continue" }).click();
  await screen("chat");

  step("send a message and watch the reply stream");
  // Record the streaming reply's length at every change of the page.
  await page.evaluate(() => {
    window.__partials = [];
    new MutationObserver(() => {
      const a = document.querySelector('article[data-role="assistant"][data-streaming="true"]');
      if (a) window.__partials.push(a.textContent.length);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  const composer = page.getByLabel("Message", { exact: true });
  check(await composer.evaluate((el) => el === document.activeElement), "the composer has the focus");
  await composer.fill("Hello there");
  await composer.press("Shift+Enter");
  await composer.pressSequentially("Tell me about cairns.");
  check((await composer.inputValue()) === "Hello there\nTell me about cairns.", "Shift+Enter makes a new line");
  await composer.press("Enter");
  const streaming = page.locator('article[data-role="assistant"][data-streaming="true"]');
  await streaming.waitFor();
  await shot("streaming");
  await streaming.waitFor({ state: "detached", timeout: 120_000 });
  const partials = await page.evaluate(() => [...new Set(window.__partials)].filter((x) => x > 0));
  check(partials.length >= 2, `the reply grew on screen in steps (${partials.length} distinct lengths)`);
  const saved = page.locator('article[data-role="assistant"]').last();
  check(((await saved.locator(".md").textContent()) ?? "").length > 0, "the finished reply has text");
  await page.locator(".convs li").first().waitFor();
  await shot("reply");

  step("stop a reply part way (Esc or the Stop button)");
  let stopped = false;
  for (let attempt = 0; attempt < 3 && !stopped; attempt++) {
    await composer.fill("Write a very long story about mountains.");
    await composer.press("Enter");
    await page.waitForFunction(() => (document.querySelector('article[data-role="assistant"][data-streaming="true"] .md')?.textContent?.length ?? 0) > 0, null, { timeout: 60_000 });
    const stop = page.getByRole("button", { name: "Stop" });
    if (attempt === 0) await page.keyboard.press("Escape");
    else if (await stop.isVisible()) await stop.click({ timeout: 2000 }).catch(() => {});
    await streaming.waitFor({ state: "detached", timeout: 120_000 });
    await page.locator('article[data-role="assistant"]').last().locator(".meta").waitFor();
    stopped = (await page.locator('article[data-role="assistant"]').last().locator(".tag.warn", { hasText: "stopped" }).count()) > 0;
  }
  check(stopped, "a stopped reply is kept and marked stopped");
  await shot("stopped");

  step("regenerate, then switch between the two versions");
  const last = () => page.locator('article[data-role="assistant"]').last();
  const firstText = await last().locator(".md").textContent();
  await last().getByRole("button", { name: "Regenerate" }).click();
  await streaming.waitFor();
  await streaming.waitFor({ state: "detached", timeout: 120_000 });
  await last().getByLabel("Version 2 of 2").waitFor();
  await shot("regenerated");
  await last().getByRole("button", { name: "Previous version" }).click();
  await last().getByLabel("Version 1 of 2").waitFor();
  check((await last().locator(".md").textContent()) === firstText, "version 1 is the stopped reply");
  await last().getByRole("button", { name: "Next version" }).click();
  await last().getByLabel("Version 2 of 2").waitFor();

  step("thumbs up, kept in the vault");
  const replyId = await last().getAttribute("data-id");
  await last().getByRole("button", { name: "Good answer" }).click();
  await page.waitForFunction(() => document.querySelector('article[data-role="assistant"]:last-of-type [aria-label="Good answer"]')?.getAttribute("aria-pressed") === "true");
  const fb = await page.evaluate(async (id) => (await (await fetch(`/api/v1/messages/${id}/feedback`, { headers: { "X-Cairn-Session": sessionStorage.getItem("cairn.session") ?? "" } })).json()).feedback, replyId);
  check(fb?.some((f) => f.rating === 1), "the rating is stored");

  step("dark theme");
  await page.emulateMedia({ colorScheme: "dark" });
  await shot("chat-dark");
  await page.emulateMedia({ colorScheme: "light" });

  step("memory: add, search, edit, history, forget");
  await page.getByRole("button", { name: "Memory", exact: true }).click();
  await screen("memory");
  await page.getByLabel("New memory text").fill("My cat is called Biscuit");
  await page.getByLabel("New memory tags").fill("pets");
  await page.getByRole("button", { name: "Add memory" }).click();
  const item = page.locator("li.mem", { hasText: "Biscuit" });
  await item.waitFor();
  // Model-like text stays text: nothing in it runs.
  await page.getByLabel("New memory text").fill('<img src=x onerror="window.__xss=1"> [x](javascript:window.__xss=2)');
  await page.getByRole("button", { name: "Add memory" }).click();
  await page.locator("li.mem", { hasText: "onerror" }).waitFor();
  check((await page.evaluate(() => window.__xss)) === undefined, "markup in a memory does not run");

  const search = page.getByLabel("Search memories");
  await search.fill("Biscuit");
  await page.locator("li.mem").first().filter({ hasText: "Biscuit" }).waitFor();
  await page.getByLabel("Tag", { exact: true }).fill("pets");
  await page.waitForFunction(() => document.querySelectorAll("li.mem").length === 1);
  await page.getByLabel("Tag", { exact: true }).fill("");
  await shot("memory-search");

  await item.getByRole("button", { name: "Edit" }).click();
  await page.getByLabel("Memory text", { exact: true }).fill("My cat is called Pudding");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await search.fill("Pudding");
  const edited = page.locator("li.mem", { hasText: "Pudding" });
  await edited.waitFor();
  await edited.getByRole("button", { name: "History" }).click();
  await edited.getByLabel("Earlier versions").getByText("My cat is called Biscuit").waitFor();
  await shot("memory-edited");
  await edited.getByRole("button", { name: "Forget" }).click();
  await edited.getByRole("button", { name: "Forget for good" }).click();
  await edited.waitFor({ state: "detached" });
  await search.fill("");
  await search.fill("Pudding");
  await page.waitForTimeout(500);
  check((await page.locator("li.mem", { hasText: "Pudding" }).count()) === 0, "a forgotten memory is not found");
  await shot("memory-forgotten");

  step("an answer shows the memories it used; a chip opens one");
  await search.fill("");
  await page.getByLabel("New memory text").fill("I keep bees on the roof");
  await page.getByRole("button", { name: "Add memory" }).click();
  await page.locator("li.mem", { hasText: "bees" }).waitFor();
  await page.getByRole("button", { name: "Chat", exact: true }).click();
  await screen("chat");
  await page.getByRole("button", { name: "New conversation" }).click();
  await composer.fill("What do you know about my bees?");
  await composer.press("Enter");
  await streaming.waitFor();
  await streaming.waitFor({ state: "detached", timeout: 120_000 });
  const chip = page.getByLabel("Memories this answer used").getByRole("button", { name: /bees/ });
  await chip.waitFor();
  check((await page.locator(".convs li").count()) === 2, "the new conversation is listed beside the first");
  await shot("memory-chips");
  await chip.click();
  await screen("memory");
  await page.locator("li.mem.selected", { hasText: "I keep bees on the roof" }).waitFor();

  step("conversations: Ctrl+K searches, rename, delete");
  await page.getByRole("button", { name: "Chat", exact: true }).click();
  await screen("chat");
  await page.keyboard.press("Control+k");
  check(await page.getByLabel("Search conversations").evaluate((el) => el === document.activeElement), "Ctrl+K focuses the search");
  await page.keyboard.type("bees");
  await page.waitForFunction(() => document.querySelectorAll(".convs li").length === 1);
  // The search finds message text too, and opens the conversation at the
  // message found, highlighted and scrolled into view.
  await page.getByLabel("Search conversations").fill("cairns");
  // The person clicks the hit that shows their words (by-meaning hits of
  // the test model may rank beside it).
  const hit = page.getByLabel("Messages found").getByRole("button").filter({ hasText: "Tell me about cairns" }).first();
  await hit.waitFor();
  await hit.click();
  const foundMsg = page.locator(".msg.found");
  await foundMsg.waitFor();
  check((await foundMsg.textContent()).includes("Tell me about cairns."), "the search opens the message it found, highlighted");
  check(await foundMsg.evaluate((el) => {
    const r = el.getBoundingClientRect(), log = el.closest(".log").getBoundingClientRect();
    return r.bottom > log.top && r.top < log.bottom;
  }), "the message found is scrolled into view");
  await shot("message-search");
  await page.getByLabel("Search conversations").fill("");
  const firstConv = page.locator(".convs li", { hasText: "Hello there" });
  await firstConv.hover();
  await firstConv.getByRole("button", { name: /^Rename/ }).click();
  await page.getByLabel("New title").fill("Mountains");
  await page.keyboard.press("Enter");
  await page.locator(".convs li", { hasText: "Mountains" }).waitFor();
  const beesConv = page.locator(".convs li", { hasText: "bees" });
  await beesConv.hover();
  await beesConv.getByRole("button", { name: /^Delete/ }).click();
  await beesConv.getByRole("button", { name: "Delete", exact: true }).click();
  await beesConv.waitFor({ state: "detached" });
  check((await page.locator(".convs li").count()) === 1, "one conversation is left");

  step("a reply links the past conversation it was shown; the link opens it at the message");
  await page.getByRole("button", { name: "New conversation" }).click();
  await composer.fill("What did I ask about cairns?");
  await composer.press("Enter");
  await streaming.waitFor();
  await streaming.waitFor({ state: "detached", timeout: 120_000 });
  const from = page.getByLabel("Past conversations this answer was shown").getByRole("button").first();
  await from.waitFor();
  const fromText = (await from.textContent()) ?? "";
  check(/^From your conversation of .+: Mountains$/.test(fromText), `the link names the conversation and its date (${fromText})`);
  await shot("recalled-from");
  const target = await from.getAttribute("data-message");
  await from.click();
  await page.locator(".convs li.active", { hasText: "Mountains" }).waitFor();
  const recalledMsg = page.locator(`.msg.found[data-id="${target}"]`);
  await recalledMsg.waitFor();
  check(await recalledMsg.evaluate((el) => {
    const r = el.getBoundingClientRect(), log = el.closest(".log").getBoundingClientRect();
    return r.bottom > log.top && r.top < log.bottom;
  }), "the message the reply was shown is scrolled into view, highlighted");
  await shot("recalled-opened");
  const askConv = page.locator(".convs li", { hasText: "What did I ask" });
  await askConv.hover();
  await askConv.getByRole("button", { name: /^Delete/ }).click();
  await askConv.getByRole("button", { name: "Delete", exact: true }).click();
  await askConv.waitFor({ state: "detached" });

  step("settings");
  await page.getByRole("button", { name: "Settings", exact: true }).click();
  await screen("settings");
  await page.getByLabel("MCP snippet").waitFor();
  await shot("settings");

  step("export a JSONL file, then import it back: a dry run, then the import");
  await page.getByRole("button", { name: "Export and import", exact: true }).click();
  await page.locator('main[data-section="data"]').waitFor();
  await page.getByLabel("JSON Lines (.jsonl)").check();
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export", exact: true }).click()]);
  check(/^cairn-.*\.jsonl$/.test(download.suggestedFilename()), `the export is a .jsonl file (${download.suggestedFilename()})`);
  const exportFile = join(shots, "export.jsonl");
  await download.saveAs(exportFile);
  check(readFileSync(exportFile, "utf8").includes("I keep bees on the roof"), "the export holds the memory added above");
  await page.getByLabel("Export result").waitFor();
  await page.getByLabel("File to import").setInputFiles(exportFile);
  await page.getByRole("button", { name: "Check (dry run)" }).click();
  const summary = page.getByLabel("Import summary");
  await summary.filter({ hasText: "Dry run: nothing written yet" }).waitFor();
  check(/already here/.test(await summary.textContent()), "the dry run says what is already here");
  await shot("import-dry-run");
  await page.getByRole("button", { name: "Import", exact: true }).click();
  await summary.filter({ hasText: "Imported" }).waitFor();
  check(/records read/.test(await summary.textContent()), "the import shows a summary");
  await shot("import-done");
  await page.getByLabel("File to import").setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("just some words\n") });
  await page.getByRole("button", { name: "Check (dry run)" }).click();
  await page.getByRole("alert").filter({ hasText: "Cairn does not recognise this file" }).waitFor();
  await shot("import-unknown");
  // A byte that is not UTF-8 (Latin-1 "é") is counted, not hidden.
  await page.getByLabel("File to import").setInputFiles({ name: "latin1.jsonl", mimeType: "application/x-ndjson", buffer: Buffer.from('{"text":"caf\xe9 au lait in the morning"}\n', "latin1") });
  await page.getByRole("button", { name: "Check (dry run)" }).click();
  await page.getByLabel("Text that was not UTF-8").filter({ hasText: "1 byte sequence in 1 entry was not UTF-8 and would be imported as" }).waitFor();

  step("an encrypted bundle: a wrong passphrase and a damaged file are refused, saying so");
  await page.getByLabel("Encrypted bundle (.cairn)").check();
  await page.getByLabel("Bundle passphrase", { exact: true }).fill("bundle passphrase 123");
  check(await page.getByRole("button", { name: "Export", exact: true }).isDisabled(), "a bundle passphrase typed once does not export");
  await page.getByLabel("Repeat bundle passphrase").fill("bundle passphrase 124");
  await page.getByText("The two passphrases differ.").waitFor();
  await page.getByLabel("Repeat bundle passphrase").fill("bundle passphrase 123");
  const [bundleDownload] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export", exact: true }).click()]);
  check(bundleDownload.suggestedFilename().endsWith(".cairn"), `the bundle is a .cairn file (${bundleDownload.suggestedFilename()})`);
  const bundleFile = join(shots, "export.cairn");
  await bundleDownload.saveAs(bundleFile);
  await page.getByLabel("File to import").setInputFiles(bundleFile);
  await page.getByLabel("Bundle passphrase to import").fill("not the bundle passphrase");
  await page.getByRole("button", { name: "Check (dry run)" }).click();
  await page.getByRole("alert").filter({ hasText: "does not open this bundle" }).waitFor();
  await shot("import-wrong-key");
  const bundle = readFileSync(bundleFile);
  await page.getByLabel("File to import").setInputFiles({ name: "damaged.cairn", mimeType: "application/octet-stream", buffer: bundle.subarray(0, Math.floor(bundle.length * 0.7)) });
  await page.getByLabel("Bundle passphrase to import").fill("bundle passphrase 123");
  await page.getByRole("button", { name: "Check (dry run)" }).click();
  await page.getByRole("alert").filter({ hasText: "Export it again from the other device" }).waitFor();
  await shot("import-damaged");

  step("the Sync page: a vault made on the first run has sync, off until paired");
  await page.getByRole("button", { name: "Sync", exact: true }).click();
  await page.getByLabel("Sync state").filter({ hasText: "Sync is off" }).waitFor();
  await shot("sync-off");

  step("gyms: none by default; a bad address gives a clear error");
  await page.getByRole("button", { name: "Gyms", exact: true }).click();
  await page.getByLabel("No gyms").waitFor();
  await page.getByLabel("Outbox empty").waitFor();
  await page.getByLabel("Gym address").fill("http://127.0.0.1:9/");
  await page.getByRole("button", { name: "Add gym" }).click();
  await page.getByRole("alert").filter({ hasText: "Could not add that gym" }).waitFor();
  check((await page.getByLabel("No gyms").count()) === 1, "still no gyms after a bad address");
  await shot("gym-bad-address");
  await page.getByRole("button", { name: "General", exact: true }).click();

  step("lock, a wrong passphrase, then unlock");
  await page.getByRole("button", { name: "Lock" }).click();
  await screen("unlock");
  await page.getByLabel("Passphrase", { exact: true }).fill("not my passphrase");
  await page.keyboard.press("Enter");
  await page.getByRole("alert").filter({ hasText: "Wrong passphrase" }).waitFor();
  await shot("unlock-wrong");
  await page.getByLabel("Passphrase", { exact: true }).fill(pass);
  await page.keyboard.press("Enter");
  await screen("chat");
  await page.locator(".convs li").first().waitFor();
  await shot("unlocked");

  step("the vault locks itself after the idle time (15 minutes, on a fast-forwarded clock)");
  await page.clock.install();
  await page.clock.fastForward("16:00");
  await screen("unlock");
  await shot("idle-locked");

  await cleanEnd(page, pageErrors, step, "the UI");
  console.log("e2e: OK");
} catch (e) {
  await failed(e, () => shot("failure"), pageErrors);
} finally {
  await browser.close();
}
