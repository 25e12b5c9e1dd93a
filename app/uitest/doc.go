// Package uitest drives the web UI end to end in a real browser: it builds
// the cairn binary, starts a real Ollama with the tiny model and
// `cairn serve --ui` in an empty home, and runs frontend/e2e/e2e.mjs
// (playwright-core with Debian's Chromium) against it. It has only tests.
package uitest
