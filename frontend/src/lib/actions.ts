// focus puts the keyboard focus on an element when it appears: each screen
// starts at its first field (keyboard users and the window test rely on it).
export function focus(el: HTMLElement): void {
  queueMicrotask(() => el.focus());
}
