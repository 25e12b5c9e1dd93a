// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from "vitest";
import { inDesktopWindow, saveFile } from "./save";

afterEach(() => {
  delete (globalThis as { go?: unknown }).go;
});

describe("saveFile", () => {
  it("hands the file to the desktop window's binding, base64, and returns where it went", async () => {
    const SaveFile = vi.fn(async () => "/home/me/cairn-sft.jsonl");
    (globalThis as { go?: unknown }).go = { desktop: { Desktop: { SaveFile } } };
    expect(inDesktopWindow()).toBe(true);
    const where = await saveFile(new Blob(["{\"a\":1}\n"]), "cairn-sft.jsonl");
    expect(where).toBe("/home/me/cairn-sft.jsonl");
    expect(SaveFile).toHaveBeenCalledWith("cairn-sft.jsonl", btoa("{\"a\":1}\n"));
  });

  it("downloads in a browser", async () => {
    expect(inDesktopWindow()).toBe(false);
    URL.createObjectURL = vi.fn(() => "blob:x");
    URL.revokeObjectURL = vi.fn();
    const click = vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(() => {});
    expect(await saveFile(new Blob(["x"]), "cairn-kto.jsonl")).toBe("download");
    expect(click).toHaveBeenCalledOnce();
  });
});
