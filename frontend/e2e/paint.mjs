// Cold start to first paint of the web UI, for app/uitest's benchmark:
// each load is a fresh browser context (empty cache) against a running
// `cairn serve --ui` with an unlocked vault. Prints one JSON line:
// {"fcp_ms":[…],"ready_ms":[…]}: first contentful paint, and the chat
// screen drawn with its conversation list (the app usable), per load.
// Environment: CAIRN_URL, CAIRN_TOKEN, LOADS (default 5), CHROMIUM.
import { launch, need } from "./harness.mjs";

const [url, token] = need(["CAIRN_URL", "CAIRN_TOKEN"], "run app/uitest's first-paint benchmark");
const loads = Number(process.env.LOADS ?? 5);
const browser = await launch();
const fcp = [];
const ready = [];
try {
  for (let i = 0; i < loads; i++) {
    const context = await browser.newContext({ viewport: { width: 1200, height: 820 } });
    await context.addInitScript((t) => sessionStorage.setItem("cairn.token", t), token);
    const page = await context.newPage();
    await page.goto(url);
    await page.locator('main[data-screen="chat"] .convs').waitFor({ timeout: 30_000 });
    const t = await page.evaluate(() => ({
      ready: performance.now(),
      fcp: performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? -1,
    }));
    fcp.push(t.fcp);
    ready.push(t.ready);
    await context.close();
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify({ fcp_ms: fcp, ready_ms: ready }));
