// The links under a reply: one per past conversation it was shown, with
// its date and title; a click opens that conversation at the message.
import { afterEach, describe, expect, it, vi } from "vitest";
import { flushSync, mount, unmount } from "svelte";
import RecalledFrom from "./RecalledFrom.svelte";
import { provenanceLinks } from "../lib/provenance";
import { ui } from "../lib/state.svelte";
import type { RecalledMessage } from "../lib/types";

const recalled: RecalledMessage[] = [
  { id: "m1", conversation_id: "c1", conversation_title: "Garden", role: "user", created_at: "2024-05-03T08:15:02Z" },
  { id: "m2", conversation_id: "c1", conversation_title: "Garden", role: "assistant", created_at: "2024-05-03T08:15:09Z" },
  { id: "m3", conversation_id: "c2", conversation_title: "", role: "user", created_at: "2024-06-01T10:00:00Z" },
];

afterEach(() => vi.unstubAllGlobals());

describe("provenanceLinks", () => {
  it("groups by conversation, at the first message shown", () => {
    expect(provenanceLinks(recalled)).toEqual([
      { conversationId: "c1", messageId: "m1", title: "Garden", date: "2024-05-03T08:15:02Z" },
      { conversationId: "c2", messageId: "m3", title: "Untitled", date: "2024-06-01T10:00:00Z" },
    ]);
  });
});

describe("RecalledFrom", () => {
  it("links each conversation and opens it at the message", async () => {
    const asked: string[] = [];
    vi.stubGlobal("fetch", vi.fn(async (url: string) => {
      asked.push(url);
      return new Response(JSON.stringify({ recalled }), { headers: { "Content-Type": "application/json" } });
    }));
    const target = document.createElement("div");
    const c = mount(RecalledFrom, { target, props: { messageId: "r1" } });
    for (let i = 0; i < 10 && !target.querySelector("button"); i++) await new Promise((r) => setTimeout(r, 0));
    flushSync();
    expect(asked).toEqual(["/api/v1/messages/r1/recalled"]);
    const buttons = [...target.querySelectorAll("button")];
    expect(buttons.map((b) => b.textContent)).toEqual([
      `From your conversation of ${new Date("2024-05-03T08:15:02Z").toLocaleDateString(undefined, { year: "numeric", month: "long", day: "numeric" })}: Garden`,
      `From your conversation of ${new Date("2024-06-01T10:00:00Z").toLocaleDateString(undefined, { year: "numeric", month: "long", day: "numeric" })}: Untitled`,
    ]);
    buttons[0]!.click();
    expect([ui.view, ui.openConversation, ui.openMessage]).toEqual(["chat", "c1", "m1"]);
    unmount(c);
  });
  it("shows nothing when the token may not read memory (an empty list)", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => new Response(JSON.stringify({ recalled: [] }), { headers: { "Content-Type": "application/json" } })));
    const target = document.createElement("div");
    const c = mount(RecalledFrom, { target, props: { messageId: "r1" } });
    for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
    flushSync();
    expect(target.querySelector(".recalled")).toBeNull();
    unmount(c);
  });
});
