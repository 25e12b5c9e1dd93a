// A new person's first hour, through a real browser (app/uitest's
// TestFirstHour starts `cairn serve --ui` pointed at a loopback port where
// Ollama is not running yet, and a real Ollama with the tiny model): the
// first run skips the models, the chat says Ollama is down and will not
// send; Ollama comes up (this script forwards the port to the real one)
// and the chat works without a reload; a reply stops at the length limit
// set in Settings, and says so; Settings shows the address served; an
// empty memory search says why; a pull with no registry says so, and the
// bar does not stay full.
// Environment: CAIRN_LOGIN_URL, CAIRN_OLLAMA_PORT (where cairn looks for
// Ollama), CAIRN_OLLAMA_REAL (host:port of the real one), CAIRN_MODEL,
// CAIRN_SHOTS, CHROMIUM.
import { readFileSync } from "node:fs";
import { createServer, connect } from "node:net";
import { join } from "node:path";
import { check, failed, launch, need, noPageErrors, openPage, screen as screenOf, shots as shotsDir, stepper } from "./harness.mjs";

const [loginURL, ollamaPortText, real] = need(["CAIRN_LOGIN_URL", "CAIRN_OLLAMA_PORT", "CAIRN_OLLAMA_REAL"], "run `go test ./app/uitest -run TestFirstHour`");
const ollamaPort = Number(ollamaPortText);
const [realHost, realPort] = real.split(":");
const pass = "correct horse battery staple";
const model = process.env.CAIRN_MODEL ?? "tiny:latest";
const shots = shotsDir("test-results/firsthour");
const step = stepper("firsthour");

const browser = await launch();
const { page, pageErrors } = await openPage(browser, { viewport: { width: 1280, height: 800 } });
let n = 0;
const shot = async (name) => {
  const file = `fh-${String(++n).padStart(2, "0")}-${name}`;
  await page.screenshot({ path: join(shots, `${file}-light.png`) });
  await page.emulateMedia({ colorScheme: "dark" });
  await page.screenshot({ path: join(shots, `${file}-dark.png`) });
  await page.emulateMedia({ colorScheme: "light" });
};
const screen = (name) => screenOf(page, name);
const phone = { width: 390, height: 844 };
const desktop = { width: 1280, height: 800 };
// fits checks that nothing scrolls sideways at phone width, then keeps a
// screenshot of the screen (light and dark).
async function fits(name) {
  const over = await page.evaluate(() => {
    const w = document.documentElement.clientWidth;
    const wide = [...document.querySelectorAll("body *")].filter((el) => {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.right <= w + 1 || getComputedStyle(el).position === "fixed") return false;
      // Inside a box that scrolls on its own (a code block) is fine.
      for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
        if (["auto", "scroll"].includes(getComputedStyle(p).overflowX)) return false;
      }
      return true;
    });
    return { scroll: document.documentElement.scrollWidth - w, wide: wide.slice(0, 3).map((el) => el.tagName + "." + el.className) };
  });
  check(over.scroll <= 1 && over.wide.length === 0, `${name} fits 390 px (scrolls ${over.scroll} px sideways; too wide: ${over.wide.join(", ")})`);
  await shot("phone-" + name);
}
let proxy;

try {
  step("first run at phone width with Ollama not running: create the vault, skip the models");
  await page.setViewportSize(phone);
  await page.goto(loginURL);
  await screen("create");
  check(!(await page.locator("#strength").textContent()).includes("Strength"), "no strength verdict on an empty field");
  check((await page.getByLabel("Keep the key in the OS keyring").count()) === 0, "no keyring offer where no keyring answers");
  await page.getByLabel("Keyring").filter({ hasText: "no OS keyring" }).waitFor();
  await fits("create-vault");
  await page.getByLabel("Passphrase", { exact: true }).fill(pass);
  await page.getByLabel("Show the passphrase").check();
  check((await page.getByLabel("Passphrase", { exact: true }).getAttribute("type")) === "text", "Show reveals the passphrase");
  await page.getByLabel("Show the passphrase").uncheck();
  await page.getByLabel("Repeat passphrase").fill(pass + "x");
  await page.getByText("The two passphrases differ.").waitFor();
  check((await page.getByText(/passphrases differ|do not match/).count()) === 1, "a mismatch is said once");
  await page.getByLabel("Repeat passphrase").fill(pass);
  await page.getByRole("button", { name: "Create vault" }).click();
  await page.getByLabel("I have saved my recovery key").waitFor();
  const recoveryKey = (await page.getByLabel("Recovery key", { exact: true }).textContent())?.trim() ?? "";
  // No group of four is split over two lines.
  const split = await page.locator(".recovery .group").evaluateAll((gs) => gs.filter((g) => g.getClientRects().length > 1).length);
  check(split === 0 && recoveryKey.length > 50, `the recovery key's groups stay whole (${split} split)`);
  const [keyFile] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download as a file" }).click()]);
  const keyPath = join(shots, "recovery-key.txt");
  await keyFile.saveAs(keyPath);
  check(readFileSync(keyPath, "utf8").includes(recoveryKey), "the downloaded file holds the recovery key");
  await fits("recovery-key");
  await page.getByLabel("I have saved my recovery key").check();
  await page.getByRole("button", { name: "Continue" }).click();
  await screen("models");
  await page.getByText("Ollama is not running").first().waitFor();
  await fits("models-ollama-down");
  await page.getByRole("button", { name: "Skip for now" }).click();
  await screen("chat");
  await page.setViewportSize(desktop);

  step("the chat says Ollama is down, where, and what to do; Send stays off");
  const notice = page.getByLabel("Cannot send");
  await notice.filter({ hasText: `Ollama is not running at http://127.0.0.1:${ollamaPort}` }).waitFor();
  check((await notice.textContent()).includes("ollama serve"), "the notice says how to start Ollama");
  const composer = page.getByLabel("Message", { exact: true });
  await composer.fill("Hello there");
  check(await page.getByRole("button", { name: "Send" }).isDisabled(), "Send is disabled while Ollama is down");
  await composer.press("Enter");
  check((await page.locator('article[data-streaming="true"]').count()) === 0, "Enter does not start a reply that cannot come");
  check((await page.getByText("Thinking…").count()) === 0, "no Thinking… state");
  check((await page.getByText("no model chosen").count()) === 0, "not the wrong cause");
  await shot("chat-ollama-down");

  step("Settings shows the address actually served");
  await page.getByRole("button", { name: "Settings", exact: true }).click();
  await screen("settings");
  const origin = new URL(loginURL).origin;
  const shown = (await page.getByLabel("API address").textContent())?.trim();
  check(shown === origin, `Settings shows ${shown}, the server is at ${origin}`);
  check((await page.getByText(/next time Cairn starts/i).count()) === 0, "no setting waits for a restart: each applies live");
  await shot("settings-address");

  step("an empty memory search says so, and why");
  await page.getByRole("button", { name: "Memory", exact: true }).click();
  await screen("memory");
  await page.getByLabel("New memory text").fill("My cat is called Biscuit");
  await page.getByRole("button", { name: "Add memory" }).click();
  await page.locator("li.mem", { hasText: "Biscuit" }).waitFor();
  await page.getByLabel("Search memories").fill("zebra");
  const none = page.getByRole("status").filter({ hasText: "No memory matches “zebra”" });
  await none.waitFor();
  await page.getByText("Search is by keyword only").waitFor();
  await shot("memory-no-results");
  await page.getByLabel("Search memories").fill("");

  step("Ollama starts: the chat notices without a reload");
  proxy = createServer((sock) => {
    const up = connect(Number(realPort), realHost);
    sock.pipe(up).pipe(sock);
    up.on("error", () => sock.destroy());
    sock.on("error", () => up.destroy());
  });
  await new Promise((res, rej) => proxy.listen(ollamaPort, "127.0.0.1", res).on("error", rej));
  await page.getByRole("button", { name: "Chat", exact: true }).click();
  await screen("chat");
  await notice.waitFor({ state: "detached", timeout: 30_000 });
  await page.getByLabel("Model", { exact: true }).selectOption(model);

  step("a reply cap from Settings; the reply says it stopped at the limit");
  await page.getByRole("button", { name: "Settings", exact: true }).click();
  await page.getByLabel("Longest reply in tokens").fill("8");
  await page.getByLabel("Longest reply in tokens").press("Tab");
  await page.getByRole("status").filter({ hasText: "Saved." }).waitFor();
  await page.getByRole("button", { name: "Chat", exact: true }).click();
  await screen("chat");
  await composer.fill("Write a very long story about mountains.");
  await composer.press("Enter");
  const streaming = page.locator('article[data-role="assistant"][data-streaming="true"]');
  await streaming.waitFor();
  // The new conversation is listed while its first reply streams.
  await page.locator(".convs li button.conv").first().waitFor();
  await streaming.waitFor({ state: "detached", timeout: 120_000 });
  const reply = page.locator('article[data-role="assistant"]').last();
  await reply.locator(".tag.warn", { hasText: "stopped at the length limit" }).waitFor();
  await shot("reply-length-limit");

  step("rate the reply; My feedback lists it, says which datasets it went into, and downloads them");
  await reply.getByRole("button", { name: "Good answer" }).click();
  await reply.locator('button[aria-label="Good answer"][aria-pressed="true"]').waitFor();
  await page.getByRole("button", { name: "Settings", exact: true }).click();
  await page.getByRole("button", { name: "My feedback", exact: true }).click();
  await page.locator('main[data-section="feedback"]').waitFor();
  const rated = page.getByLabel("Your ratings").locator("li");
  await rated.first().waitFor();
  check((await rated.count()) === 1, `My feedback lists the one rating (${await rated.count()})`);
  check((await rated.first().textContent()).includes("Good"), "the rating shows as good");
  check((await rated.first().locator("[data-datasets]").getAttribute("data-datasets")) === "sft,kto", "one thumbs-up is an SFT and a KTO example, and the view says so");
  await page.getByText("a thumbs-up is an SFT example").waitFor();
  check(await page.getByRole("button", { name: "Download DPO (0)" }).isDisabled(), "an empty dataset is not offered");
  for (const f of ["SFT", "KTO"]) {
    const [dl] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: `Download ${f} (1)` }).click()]);
    const dlPath = join(shots, `my-${f.toLowerCase()}.jsonl`);
    await dl.saveAs(dlPath);
    const lines = readFileSync(dlPath, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    check(lines.length === 1 && (f === "SFT" ? Array.isArray(lines[0].messages) : lines[0].label === true), `the ${f} download is the dataset (${JSON.stringify(lines[0]).slice(0, 80)})`);
    check(dl.suggestedFilename() === `cairn-${f.toLowerCase()}.jsonl`, `the ${f} file is named ${dl.suggestedFilename()}`);
  }
  await page.getByRole("status").filter({ hasText: "Downloaded cairn-kto.jsonl" }).waitFor();
  await shot("my-feedback");
  // The rating links to its conversation.
  await rated.first().locator("button").click();
  await screen("chat");
  await page.locator('article[data-role="assistant"]').first().waitFor();

  step("the first message can be edited (a new branch at the root); the loaded model shows after the reply");
  const first = page.locator('article[data-role="user"]').first();
  await first.getByRole("button", { name: "Edit message" }).click();
  await page.getByLabel("Edited message").fill("Write a short poem about hills.");
  await page.getByRole("button", { name: "Save and send" }).click();
  await page.locator('article[data-role="user"]').first().getByLabel("Version 2 of 2").waitFor();
  await page.locator('article[data-role="assistant"][data-streaming="true"]').waitFor({ state: "detached", timeout: 120_000 });
  check((await page.locator('article[data-role="user"]').first().textContent()).includes("Write a short poem about hills."), "the edited first message is shown");
  check((await page.getByText("The first message cannot be edited").count()) === 0, "no refusal to edit the first message");
  await page.getByLabel("Loaded models").filter({ hasText: model }).waitFor();
  check(!(await page.getByLabel("Loaded models").textContent()).includes("no model loaded"), "right after a reply, the model shows as loaded");
  await shot("first-message-edited");
  await page.getByRole("button", { name: "Settings", exact: true }).click();
  await page.getByRole("button", { name: "General", exact: true }).click();

  step("a pull with no registry says so, and the bar goes away");
  await page.getByRole("button", { name: "Settings", exact: true }).click();
  await screen("settings");
  // Saving offers to pull the embedding model that is not there.
  await page.getByRole("button", { name: "Save and pull nomic-embed-text" }).waitFor();
  await page.getByLabel("Model to pull").fill("127.0.0.1:9/library/nothing");
  await page.getByRole("button", { name: "Pull", exact: true }).click();
  await page.getByRole("alert").filter({ hasText: "No connection to the model registry" }).waitFor();
  check((await page.getByLabel("Download progress").count()) === 0, "no progress bar after the failure");
  check((await page.getByText("cairn models").count()) === 0, "no CLI advice on the page");
  await shot("pull-offline");

  step("every screen at phone width (390x844): a drawer for conversations, nothing cut off");
  await page.setViewportSize(phone);
  await page.getByRole("button", { name: "Chat", exact: true }).click();
  await screen("chat");
  check(await page.getByRole("button", { name: "Lock" }).isVisible(), "Lock is on screen");
  check(!(await page.locator("#conversations").isVisible()), "the conversation list is a closed drawer");
  await fits("chat");
  await page.getByRole("button", { name: "Show conversations" }).click();
  const drawer = page.locator("#conversations");
  await drawer.waitFor();
  await drawer.getByRole("button", { name: "New conversation" }).waitFor();
  check((await drawer.locator(".convs li button.conv").count()) >= 1, "the drawer lists the conversation");
  await fits("chat-drawer");
  await drawer.locator(".convs li button.conv").first().click();
  await drawer.waitFor({ state: "hidden" });
  await page.locator('article[data-role="assistant"]').first().waitFor();
  await fits("chat-thread");
  await page.getByRole("button", { name: "Memory", exact: true }).click();
  await screen("memory");
  const box = await page.getByLabel("Search memories").boundingBox();
  check(box && box.width > 300, `the memory search box is wide enough (${box?.width} px)`);
  await fits("memory");
  await page.getByRole("button", { name: "Settings", exact: true }).click();
  await screen("settings");
  await page.getByLabel("MCP snippet").waitFor();
  await fits("settings-general");
  for (const [tab, ready] of [["Export and import", 'main[data-section="data"]'], ["Sync", 'main[data-section="sync"]'], ["Gyms", 'main[data-section="gym"]'], ["My feedback", 'main[data-section="feedback"]']]) {
    await page.getByRole("button", { name: tab, exact: true }).click();
    await page.locator(ready).waitFor();
    await page.waitForLoadState("networkidle");
    await fits("settings-" + tab.split(" ")[0].toLowerCase());
  }
  await page.getByRole("button", { name: "General", exact: true }).click();
  await page.getByRole("button", { name: "Lock" }).click();
  await screen("unlock");
  await fits("unlock");

  step("forgot the passphrase: the recovery key sets a new one, in the app");
  await page.getByRole("button", { name: "Use your recovery key" }).click();
  await page.getByLabel("Recovery key", { exact: true }).fill("AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH-IIII-JJJJ-KKKK-LLLL-MMMM");
  await page.getByLabel("New passphrase", { exact: true }).fill("a brand new passphrase");
  await page.getByLabel("Repeat the new passphrase").fill("a brand new passphrase");
  await page.getByRole("button", { name: "Set passphrase and unlock" }).click();
  await page.getByRole("alert").filter({ hasText: "does not open this vault" }).waitFor();
  await fits("unlock-recovery");
  await page.getByLabel("Recovery key", { exact: true }).fill(recoveryKey.toLowerCase());
  await page.getByRole("button", { name: "Set passphrase and unlock" }).click();
  await screen("chat");
  await page.getByRole("button", { name: "Lock" }).click();
  await screen("unlock");
  await page.getByLabel("Passphrase", { exact: true }).fill("a brand new passphrase");
  await page.keyboard.press("Enter");
  await screen("chat");
  // A browser that opens the used login link again sees the sign-in page,
  // which says why (not raw JSON).
  const other = await browser.newContext({ viewport: phone });
  const signin = await other.newPage();
  await signin.goto(loginURL);
  await signin.locator('main[data-screen="signin"]').waitFor();
  await signin.getByRole("alert").filter({ hasText: "That sign-in link was used already" }).waitFor();
  check(!(await signin.content()).includes('"bad_login"'), "no raw JSON for a reused link");
  const sw = await signin.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  check(sw <= 1, `the sign-in page fits 390 px (${sw} px sideways)`);
  await signin.screenshot({ path: join(shots, `fh-${String(++n).padStart(2, "0")}-phone-signin-light.png`) });
  await other.close();

  noPageErrors(pageErrors);
  console.log("firsthour: OK");
} catch (e) {
  await failed(e, () => page.screenshot({ path: join(shots, "fh-failure.png") }), pageErrors);
} finally {
  proxy?.close();
  await browser.close();
}
