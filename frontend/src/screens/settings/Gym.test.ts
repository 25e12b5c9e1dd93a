// The gym review in the DOM: the exact bytes are shown, approving needs the
// licence accepted, and only the chosen items are posted.
import { afterEach, describe, expect, it, vi } from "vitest";
import { flushSync, mount, unmount } from "svelte";
import Gym from "./Gym.svelte";
import { itemText, sha256Hex } from "../../lib/pages";

const item = { messages: [{ role: "user", content: "hi <b>there</b>" }, { role: "assistant", content: "hello" }] };
const gym = { id: "g1", address: "https://gym.example", manifest: { name: "Open Gym", formats: ["sft"], license: "CC-BY-4.0", peer_id: "g1" }, contributor: "k1", added: "2026-01-01T00:00:00Z" };

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

const tick = () => new Promise((r) => setTimeout(r, 0));
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await tick();
  flushSync();
}

afterEach(() => vi.unstubAllGlobals());

describe("Gym review", () => {
  it("shows the exact bytes and posts only approved items with the licence accepted", async () => {
    const posts: Array<{ url: string; body: unknown }> = [];
    const h1 = (await sha256Hex(itemText(item)))!;
    vi.stubGlobal("fetch", vi.fn(async (url: string, init?: RequestInit) => {
      if (init?.method === "POST") {
        posts.push({ url, body: JSON.parse(String(init.body)) });
        return json({ approved: 1, declined: 1, sent: { delivered: 1, refused: 0, failed: 0 } });
      }
      if (url.endsWith("/gym/gyms")) return json({ gyms: [gym] });
      if (url.endsWith("/gym/outbox")) return json({ outbox: [] });
      if (url.endsWith("/review")) return json({ gym: "g1", name: "Open Gym", license: "CC-BY-4.0", items: posts.length ? [] : [
        { hash: h1, format: "sft", item, feedback: "f1" },
        { hash: "h2", format: "sft", item: { prompt: "x" }, feedback: "f2" },
      ] });
      if (url.endsWith("/receipts")) return json({ receipts: [] });
      return json({ error: { code: "not_found", message: url } }, 404);
    }));
    const target = document.createElement("div");
    document.body.append(target);
    const c = mount(Gym, { target });
    await settle();
    const button = (name: string) => [...target.querySelectorAll("button")].find((b) => b.textContent?.trim().startsWith(name))!;
    button("Review").click();
    await settle();

    const pres = target.querySelectorAll('pre[aria-label="Exact bytes to send"]');
    expect(pres.length).toBe(2);
    expect(pres[0]!.textContent).toBe('{"messages":[{"role":"user","content":"hi \\u003cb\\u003ethere\\u003c/b\\u003e"},{"role":"assistant","content":"hello"}]}');
    expect(pres[0]!.children.length).toBe(0); // text, never markup
    // The page checks the bytes against each hash: h1 is the real one, h2 is not.
    const tags = [...target.querySelectorAll(".gym-item")].map((el) => el.textContent ?? "");
    expect(tags[0]).toContain("bytes match their hash");
    expect(tags[1]).toContain("differ from this item's hash");

    const radios = target.querySelectorAll<HTMLInputElement>('input[type="radio"]');
    radios[0]!.click(); // approve h1
    radios[3]!.click(); // decline h2
    flushSync();
    const submit = button("Approve 1 and send");
    expect(submit.disabled).toBe(true); // the licence is not accepted yet
    const licence = [...target.querySelectorAll("label")].find((l) => l.textContent?.includes("I accept"))!;
    expect(licence.textContent).toContain("CC-BY-4.0");
    licence.querySelector("input")!.click();
    flushSync();
    expect(submit.disabled).toBe(false);
    submit.click();
    await settle();

    expect(posts).toEqual([{ url: "/api/v1/gym/gyms/g1/approve", body: { approve: [h1], decline: ["h2"], accept_license: "CC-BY-4.0" } }]);
    expect(target.textContent).toContain("1 approved, 1 declined.");
    unmount(c);
    target.remove();
  });
});
