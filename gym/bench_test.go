package gym

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// BenchmarkGymAccept measures how fast a gym node takes contributions:
// signature check, schema check of every item, duplicate and
// near-duplicate checks, storage and the log's append, for envelopes of
// 50 SFT items (about 300 bytes each, each of its own words).
func BenchmarkGymAccept(b *testing.B) {
	ctx := context.Background()
	n, err := OpenNode(ctx, NodeConfig{Dir: b.TempDir(), License: testLicense, Limits: Limits{ItemsPerHour: 1 << 30}})
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	_, key, _ := ed25519.GenerateKey(nil)
	pub := EncodeKey(key.Public().(ed25519.PublicKey))
	const per = 50
	words := newWords(1)
	envs := make([]Signed, b.N)
	for i := range envs {
		envs[i] = benchEnvelope(n.ID(), key, pub, words, per)
	}
	b.ResetTimer()
	for i := range b.N {
		a, err := n.Contribute(ctx, envs[i])
		if err != nil || a.Receipt == nil || acceptedOf(a.Receipt) != per {
			b.Fatalf("%+v %v", a, err)
		}
	}
	b.ReportMetric(float64(b.N*per)/b.Elapsed().Seconds(), "items/s")
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/envelope")
}

// Parsers of outside data must not panic, whatever they are given.
func FuzzDecodeItem(f *testing.F) {
	f.Add([]byte(`{"format":"sft","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yo"}]}`))
	f.Add([]byte(`{"format":"kto","prompt":[{"role":"user","content":"q"}],"completion":[{"role":"assistant","content":"a"}],"label":true}`))
	f.Add([]byte(`{"format":"dpo"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		it, err := DecodeItem(raw)
		if err == nil && Hash(it.Encode()) != Hash(raw) {
			t.Fatalf("a decoded item re-encodes to other bytes")
		}
	})
}

func FuzzContribute(f *testing.F) {
	n, err := OpenNode(context.Background(), NodeConfig{Dir: f.TempDir()})
	if err != nil {
		f.Fatal(err)
	}
	defer n.Close()
	f.Add([]byte(`{"schema":1,"gym":"x","id":"0123456789abcdef","items":[{}]}`), []byte("sig"))
	f.Fuzz(func(t *testing.T, body, sig []byte) {
		if !json.Valid(body) {
			return
		}
		if a, err := n.Contribute(context.Background(), Signed{Body: body, Sig: sig}); err != nil || a.Refused == "" {
			t.Fatalf("an unsigned body was not refused: %+v %v", a, err)
		}
	})
}

// gym uses the vault through package memory and nothing else of the
// project.
func TestGymImportsOnlyMemory(t *testing.T) {
	out, err := exec.Command("go", "list", "-tags", "sqlite_fts5", "-deps", "-f", "{{.ImportPath}}", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "github.com/cairnlabs/cairn/") && p != "github.com/cairnlabs/cairn/gym" && p != "github.com/cairnlabs/cairn/memory" {
			t.Errorf("gym imports %s", p)
		}
	}
}
