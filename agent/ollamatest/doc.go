// Package ollamatest runs a real Ollama server for tests, offline: it finds or
// builds the ollama binary, starts `ollama serve` on a free loopback port with
// a temporary models directory and home of its own, and creates tiny models
// from a random-weight llama-2 GGUF (../shared/OLLAMA-IN-TESTS.md). It also
// runs a local registry, so that pulling a model can be tested end to end.
//
// A test package starts one server in TestMain and shares it:
//
//	var srv *ollamatest.Server
//
//	func TestMain(m *testing.M) { os.Exit(ollamatest.Main(m, &srv)) }
//
// Binaries: `make test-tools` (a step of `make test`) builds Ollama
// OllamaVersion and the registry RegistryVersion into bin/test-tools, where
// Binary and RegistryBinary look first after $CAIRN_TEST_OLLAMA and
// $CAIRN_TEST_REGISTRY. Without them a test builds them itself, which takes
// minutes. The model file is ../shared/testdata/models/llama-2-tiny-random.gguf
// beside the repository, or $CAIRN_TEST_MODEL_GGUF.
//
// The model's words are random: assert on structure (tokens arrive, counts,
// vector sizes), never on meaning.
package ollamatest
