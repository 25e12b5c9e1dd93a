// Conversations are trees: a regenerated reply or an edited question is a
// sibling branch under the same parent. The page shows one path from the
// root to a leaf, with "< 2/3 >" wherever a message has siblings.
import type { Message } from "./api";

export interface Shown {
  message: Message;
  /** siblings, oldest first, this message included */
  siblings: Message[];
  index: number;
}

function children(msgs: Message[]): Map<string, Message[]> {
  const m = new Map<string, Message[]>();
  for (const x of msgs) {
    const k = x.parent_id ?? "";
    const list = m.get(k);
    if (list) list.push(x);
    else m.set(k, [x]);
  }
  for (const list of m.values()) list.sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.id < b.id ? -1 : 1));
  return m;
}

/** newestLeaf follows the newest child from id down to a leaf. */
export function newestLeaf(msgs: Message[], id: string): string {
  const kids = children(msgs);
  let cur = id;
  for (;;) {
    const list = kids.get(cur);
    if (!list || list.length === 0) return cur;
    cur = list[list.length - 1]!.id;
  }
}

/** path is the thread from the root to leaf, each with its siblings. Tool
 * messages and tool-call turns are kept out of sight but keep the path. */
export function path(msgs: Message[], leaf: string): Shown[] {
  const byId = new Map(msgs.map((m) => [m.id, m]));
  const kids = children(msgs);
  const out: Shown[] = [];
  let cur = byId.get(leaf);
  const seen = new Set<string>();
  while (cur && !seen.has(cur.id)) {
    seen.add(cur.id);
    const sibs = (kids.get(cur.parent_id ?? "") ?? []).filter((s) => s.role === cur!.role);
    out.push({ message: cur, siblings: sibs, index: Math.max(0, sibs.findIndex((s) => s.id === cur!.id)) });
    cur = cur.parent_id ? byId.get(cur.parent_id) : undefined;
  }
  return out.reverse();
}

/** visible drops tool results and empty tool-call turns. */
export function visible(p: Shown[]): Shown[] {
  return p.filter((s) => (s.message.role === "user" || s.message.role === "assistant") && !(s.message.role === "assistant" && !s.message.content && s.message.tool_calls?.length));
}
