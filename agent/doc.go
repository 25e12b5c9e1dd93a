// Package agent is the chat loop: it talks to the models the person runs
// (Ollama, or an OpenAI-compatible server), assembles each prompt within
// the model's context window from the system prompt, relevant memories and
// history, and extracts new memories from what the person says. It uses
// the vault through a small interface of its own.
package agent
