// The Content-Security-Policy, seen from the page: every violation the
// browser reports (securitypolicyviolation events, on every document the
// context loads) is kept, and cspHolds checks that the UI caused none and
// that the policy is really enforced (an inline script is refused).
export async function watchCSP(context) {
  await context.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener("securitypolicyviolation", (e) => {
      window.__cspViolations.push(`${e.effectiveDirective} refused ${e.blockedURI || "inline"} (${e.sourceFile || "?"}:${e.lineNumber})`);
    });
  });
}

export async function cspHolds(page) {
  const seen = await page.evaluate(() => window.__cspViolations.slice());
  if (seen.length) throw new Error("the UI broke its own Content-Security-Policy: " + seen.join("; "));
  // A script written into the page inline must not run (it would run
  // synchronously on insertion), and the browser must report it.
  const ran = await page.evaluate(() => {
    window.__inlineRan = false;
    const s = document.createElement("script");
    s.textContent = "window.__inlineRan = true";
    document.head.appendChild(s);
    return window.__inlineRan;
  });
  if (ran) throw new Error("an inline script ran: the Content-Security-Policy is not enforced");
  await page.waitForFunction(() => window.__cspViolations.some((v) => v.startsWith("script-src")));
}
