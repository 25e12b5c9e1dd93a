/** A draft the person is typing, and where it will go. */
export interface Draft {
  text: string;
  conversation_id?: string;
  model?: string;
}

/**
 * draftPreparer warms a chat turn while the person types: once the draft
 * has not changed for `delay` ms, prepare is called with it (trimmed, as
 * the turn will send it), so the server embeds it as the turn's query
 * ahead. The same draft is not sent twice, an empty one never, and a
 * failure is ignored: preparing only saves time, the turn works without.
 */
export function draftPreparer(prepare: (d: Draft) => Promise<unknown>, delay = 300) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let last = "";
  return {
    update(d: Draft): void {
      clearTimeout(timer);
      const text = d.text.trim();
      if (!text) return;
      timer = setTimeout(() => {
        const key = JSON.stringify([text, d.conversation_id ?? "", d.model ?? ""]);
        if (key === last) return;
        last = key;
        prepare({ ...d, text }).catch(() => {});
      }, delay);
    },
    cancel(): void {
      clearTimeout(timer);
    },
  };
}
