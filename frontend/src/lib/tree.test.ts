import { describe, expect, it } from "vitest";
import type { Message } from "./api";
import { newestLeaf, path, visible } from "./tree";

let t = 0;
const m = (id: string, role: Message["role"], parent?: string): Message => ({
  id, role, parent_id: parent, conversation_id: "c", content: id, created_at: new Date(1_700_000_000_000 + t++ * 1000).toISOString(),
});

describe("conversation branches", () => {
  // u1 -> a1, a2 (regenerated); a2 -> u2 -> a3; u1' edited (sibling of u1? no: root edits are not possible), u2' under a2
  const msgs = [m("u1", "user"), m("a1", "assistant", "u1"), m("a2", "assistant", "u1"), m("u2", "user", "a2"), m("a3", "assistant", "u2"), m("u2b", "user", "a2"), m("a4", "assistant", "u2b")];

  it("shows the path to a leaf with sibling counts", () => {
    const p = path(msgs, "a3");
    expect(p.map((s) => s.message.id)).toEqual(["u1", "a2", "u2", "a3"]);
    expect(p[1]!.siblings.map((s) => s.id)).toEqual(["a1", "a2"]);
    expect(p[1]!.index).toBe(1);
    expect(p[2]!.siblings.length).toBe(2);
  });

  it("switching to a sibling continues at its newest leaf", () => {
    expect(newestLeaf(msgs, "a1")).toBe("a1");
    expect(newestLeaf(msgs, "a2")).toBe("a4");
    expect(newestLeaf(msgs, "u2")).toBe("a3");
  });

  it("hides tool turns but keeps the thread", () => {
    const tools = [m("x1", "user"), { ...m("x2", "assistant", "x1"), content: "", tool_calls: [{}] }, m("x3", "tool", "x2"), m("x4", "assistant", "x3")];
    expect(visible(path(tools, "x4")).map((s) => s.message.id)).toEqual(["x1", "x4"]);
  });
});
