// The links under a reply to the past conversations it was shown: one per
// conversation, opening it at the first message the reply was shown.
import type { RecalledMessage } from "./types";

export interface ProvenanceLink {
  conversationId: string;
  messageId: string;
  title: string;
  /** the date of the first message shown from that conversation */
  date: string;
}

export function provenanceLinks(recalled: RecalledMessage[]): ProvenanceLink[] {
  const out: ProvenanceLink[] = [];
  for (const r of recalled) {
    if (out.some((l) => l.conversationId === r.conversation_id)) continue;
    out.push({ conversationId: r.conversation_id, messageId: r.id, title: r.conversation_title || "Untitled", date: r.created_at });
  }
  return out;
}
