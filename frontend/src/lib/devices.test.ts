import { describe, expect, it } from "vitest";
import type { ModelInfo } from "./api";
import { modelGroups, offlineDevice } from "./devices";

const models: ModelInfo[] = [
  { name: "llama3.2", backend: "ollama" },
  { name: "desk/qwen3", backend: "desk", device: "desk" },
  { name: "nas/phi4", backend: "nas", device: "nas", offline: true },
  { name: "desk/gemma3", backend: "desk", device: "desk" },
];

describe("modelGroups", () => {
  it("puts this device first, then each other device with whether it is online", () => {
    const g = modelGroups(models);
    expect(g.map((x) => x.label)).toEqual(["This device", "On desk · online", "On nas · offline"]);
    expect(g[1]!.models.map((m) => m.name)).toEqual(["desk/qwen3", "desk/gemma3"]);
  });
  it("leaves out this device when it has no model (its Ollama is down)", () => {
    expect(modelGroups(models.slice(1)).map((x) => x.device)).toEqual(["desk", "nas"]);
  });
});

describe("offlineDevice", () => {
  it("names the device of an offline model only", () => {
    expect(offlineDevice(models, "nas/phi4")).toBe("nas");
    expect(offlineDevice(models, "desk/qwen3")).toBe("");
    expect(offlineDevice(models, "llama3.2")).toBe("");
  });
});
