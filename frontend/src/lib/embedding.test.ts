import { describe, expect, it } from "vitest";
import { embeddingProblem } from "./embedding";

describe("embeddingProblem", () => {
  it("says a missing model in the page's terms, with no CLI advice", () => {
    const raw = 'embed memories with nomic-embed-text: model not found: pull it with `cairn pull nomic-embed-text` or pick one from `cairn models`';
    const got = embeddingProblem("nomic-embed-text", raw);
    expect(got).toContain("nomic-embed-text is not pulled yet");
    expect(got).not.toContain("cairn ");
  });
  it("keeps other errors, without commands", () => {
    expect(embeddingProblem("m", "Ollama did not answer: see `cairn doctor`")).toBe("Ollama did not answer: see Settings → Models");
  });
  it("says nothing without an error", () => {
    expect(embeddingProblem("m", undefined)).toBe("");
  });
});
