// What the whole page shares: which screen shows, and where to go next.
import type { AppState } from "./api";

export type Screen = "loading" | "signin" | "create" | "recovery" | "models" | "unlock" | "main" | "error";
export type View = "chat" | "memory" | "tasks" | "settings";
export type SettingsTab = "general" | "data" | "sync" | "gym" | "feedback";

export const ui = $state({
  screen: "loading" as Screen,
  view: "chat" as View,
  /** which section of Settings shows */
  settingsTab: "general" as SettingsTab,
  app: null as AppState | null,
  error: "",
  /** a memory to open in the memory view */
  openMemory: "",
  /** a conversation (and message) to open in the chat view */
  openConversation: "",
  openMessage: "",
  /** bumped by Ctrl/Cmd+K: the current view focuses its search */
  searchRequest: 0,
});

export function openMemory(id: string): void {
  ui.openMemory = id;
  ui.view = "memory";
}

export function openMessage(conversationId: string, messageId: string): void {
  ui.openConversation = conversationId;
  ui.openMessage = messageId;
  ui.view = "chat";
}
