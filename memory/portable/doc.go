// Package portable moves memory in and out of a vault: encrypted bundles
// for another device (age, versioned, streamed in chunks and checked),
// open JSONL and Markdown for people and other apps, and the import engine
// that merges what comes in through the vault's one merge rule in
// transactional, resumable batches. Importers of other assistants' exports
// live in memory/importers and feed the same engine.
package portable
