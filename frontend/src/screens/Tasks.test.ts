// The Tasks view in the DOM, from the keyboard: pick an answer, review the
// exact bytes, accept the licence, send; only the reviewed hashes are
// posted, and nothing is sent before the licence is accepted.
import { afterEach, describe, expect, it, vi } from "vitest";
import { flushSync, mount, unmount } from "svelte";
import Tasks from "./Tasks.svelte";
import { ui } from "../lib/state.svelte";
import { itemText, sha256Hex } from "../lib/pages";

const sets = [{ id: "cap", kind: "compare", title: "Which is right?" }, { id: "rate", kind: "rate", title: "Rate", rubric: ["clear", "correct"], scale: 5 }];
const gym = { id: "g1", address: "https://gym.example", manifest: { name: "Task Gym", formats: ["sft"], license: "CC0-1.0", peer_id: "g1", tasks: sets }, contributor: "k1", added: "2026-01-01T00:00:00Z" };
const tasks = [
  { id: "t1", set: "cap", kind: "compare", prompt: "Capital of Portugal?", answers: ["Porto.", "Lisbon."] },
  { id: "t2", set: "rate", kind: "rate", prompt: "2+2?", answers: ["4"] },
];
const item = { prompt: [{ role: "user", content: "Capital of Portugal?" }], chosen: [{ role: "assistant", content: "Lisbon." }], rejected: [{ role: "assistant", content: "Porto." }], task: "t1" };

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}
const tick = () => new Promise((r) => setTimeout(r, 0));
async function settle(): Promise<void> {
  for (let i = 0; i < 8; i++) await tick();
  flushSync();
}
const press = async (key: string, o: KeyboardEventInit = {}) => {
  window.dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true, ...o }));
  await settle();
};

afterEach(() => vi.unstubAllGlobals());

describe("Tasks view", () => {
  it("does a compare task from the keyboard and sends only what was reviewed, under the licence", async () => {
    const hash = (await sha256Hex(itemText(item)))!;
    const posts: Array<{ url: string; body: unknown }> = [];
    let done = false;
    vi.stubGlobal("fetch", vi.fn(async (url: string, init?: RequestInit) => {
      if (init?.method === "POST") {
        posts.push({ url, body: JSON.parse(String(init.body)) });
        if (url.endsWith("/tasks/review")) return json({ gym: "g1", name: "Task Gym", license: "CC0-1.0", items: [{ hash, format: "dpo", item, feedback: "", task: "t1" }] });
        done = true;
        return json({ approved: 1, sent: { delivered: 1, refused: 0, failed: 0 } });
      }
      if (url.endsWith("/gym/gyms")) return json({ gyms: [gym] });
      if (url.endsWith("/tasks")) return json({ gym: "g1", name: "Task Gym", license: "CC0-1.0", sets, tasks: done ? tasks.slice(1) : tasks });
      return json({ error: { code: "not_found", message: url } }, 404);
    }));
    ui.view = "tasks";
    const target = document.createElement("div");
    document.body.append(target);
    const c = mount(Tasks, { target });
    await settle();
    expect(target.querySelector('[aria-label="Prompt"]')!.textContent).toBe("Capital of Portugal?");

    await press("Enter"); // nothing chosen: no review
    expect(posts).toEqual([]);
    await press("2");
    expect(target.querySelector('li[aria-current="true"]')!.textContent).toContain("Lisbon.");
    await press("Enter");
    expect(posts).toEqual([{ url: "/api/v1/gym/gyms/g1/tasks/review", body: { results: [{ task: "t1", choice: 1 }] } }]);
    expect(target.querySelector('pre[aria-label="Exact bytes to send"]')!.textContent).toBe(itemText(item));
    expect(target.textContent).toContain("bytes match their hash");

    await press("Enter"); // the licence is not accepted yet: nothing is sent
    expect(posts.length).toBe(1);
    await press("l");
    expect(target.querySelector<HTMLInputElement>('input[aria-label="Accept the licence"]')!.checked).toBe(true);
    await press("Enter");
    expect(posts[1]).toEqual({ url: "/api/v1/gym/gyms/g1/tasks/submit", body: { results: [{ task: "t1", choice: 1 }], approve: [hash], accept_license: "CC0-1.0" } });
    expect(target.textContent).toContain("Task t1: 1 item approved, 1 delivered");

    // The next task is the rate one: digits score the rubric in order.
    expect(target.querySelector('[aria-label="Prompt"]')!.textContent).toBe("2+2?");
    await press("4");
    await press("9"); // beyond the scale: ignored
    await press("5");
    expect([...target.querySelectorAll('[aria-label="Rubric"] li')].map((l) => l.textContent)).toEqual(["clear: 4", "correct: 5"]);
    await press("Backspace");
    expect(target.querySelector('[aria-label="Rubric"]')!.textContent).toContain("correct: –");
    unmount(c);
    target.remove();
  });
});
