package portable

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/cairnlabs/cairn/memory"
)

// testWorkFactor keeps scrypt quick in tests; the CLI uses age's default.
const testWorkFactor = 10

func writeBundle(t testing.TB, v *memory.Vault, rs ...age.Recipient) []byte {
	t.Helper()
	var buf bytes.Buffer
	bw, err := NewBundleWriter(&buf, BundleHeader{CreatedAt: time.Now()}, rs...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Export(context.Background(), v, Filter{}, bw); err != nil {
		t.Fatal(err)
	}
	if err := bw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func bundleSource(data []byte, ids ...age.Identity) Source {
	return BundleSource(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }, ids, Limits{})
}

func passRecipient(t testing.TB, pass string) (age.Recipient, age.Identity) {
	r, err := PassphraseRecipient(pass, testWorkFactor)
	if err != nil {
		t.Fatal(err)
	}
	id, err := PassphraseIdentity(pass)
	if err != nil {
		t.Fatal(err)
	}
	return r, id
}

func searchIDs(t *testing.T, v *memory.Vault, q string) []string {
	res, err := v.Search(context.Background(), memory.Query{Text: q})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range res {
		ids = append(ids, r.Item.ID)
	}
	return ids
}

// Vault to bundle to another device: the same records and the same search
// results, under a passphrase and under a public key.
func TestBundleRoundTrip(t *testing.T) {
	a := newVault(t)
	fill(t, a)
	r, id := passRecipient(t, "a long bundle passphrase")
	key, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	keyR, err := KeyRecipients(key.Recipient().String())
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		r  age.Recipient
		id age.Identity
	}{"passphrase": {r, id}, "public key": {keyR[0], key}} {
		t.Run(name, func(t *testing.T) {
			data := writeBundle(t, a, c.r)
			if bytes.Contains(data, []byte("Lisbon")) {
				t.Fatal("the bundle holds plaintext")
			}
			b := newVault(t)
			sum, err := Import(context.Background(), b, bundleSource(data, c.id), Options{BatchSize: 4})
			if err != nil {
				t.Fatal(err)
			}
			if c := total(sum); c.New+c.Deleted != sum.Records || sum.Records == 0 {
				t.Fatalf("%+v", c)
			}
			if got, want := exportJSONL(t, b, Filter{}), exportJSONL(t, a, Filter{}); !bytes.Equal(got, want) {
				t.Fatalf("records differ after the bundle:\n%s\n---\n%s", got, want)
			}
			for _, q := range []string{"Lisbon", "tea", "where does my sister live"} {
				if got, want := searchIDs(t, b, q), searchIDs(t, a, q); !slices.Equal(got, want) {
					t.Errorf("search %q: %v on the other device, %v here", q, got, want)
				}
			}
			again, err := Import(context.Background(), b, bundleSource(data, c.id), Options{})
			if err != nil || total(again).Unchanged != again.Records {
				t.Fatalf("second import: %v %+v", err, total(again))
			}
		})
	}
}

// A wrong passphrase or key, a truncated bundle and a flipped bit are
// refused with a clear error, and the vault keeps exactly what it held.
func TestBundleRefusedIntact(t *testing.T) {
	a := newVault(t)
	fill(t, a)
	// Enough records for several chunks and age's 64 KiB segments.
	for i := range 1500 {
		if _, err := a.Add(context.Background(), memory.NewItem{Text: "memory number " + string(rune('a'+i%26)) + time.Duration(i).String()}); err != nil {
			t.Fatal(err)
		}
	}
	r, id := passRecipient(t, "right passphrase")
	data := writeBundle(t, a, r)
	_, wrongID := passRecipient(t, "wrong passphrase")
	other, _ := age.GenerateX25519Identity()

	b := newVault(t)
	fill(t, b)
	before := exportJSONL(t, b, Filter{})
	seq, _ := b.LastSeq(context.Background())

	flip := func(at int) []byte {
		d := bytes.Clone(data)
		d[at] ^= 0x10
		return d
	}
	// The payload starts after the header's "---" line and a 16-byte nonce;
	// a flip there fails the first segment, the one holding the magic.
	mac := bytes.Index(data, []byte("\n--- "))
	payload := mac + 1 + bytes.IndexByte(data[mac+1:], '\n') + 1 + 16
	var notBundle bytes.Buffer
	w, err := age.Encrypt(&notBundle, r)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "my shopping list\n")
	w.Close()
	cases := []struct {
		name string
		data []byte
		id   age.Identity
		want error
	}{
		{"wrong passphrase", data, wrongID, ErrBundleKey},
		{"wrong key", data, other, ErrBundleKey},
		{"truncated at the end", data[:len(data)-10], id, ErrBundleDamaged},
		{"truncated in the middle", data[:len(data)/2], id, ErrBundleDamaged},
		{"bit flipped in the header", flip(40), id, nil},
		{"bit flipped at the start of the records", flip(len(data) / 10), id, ErrBundleDamaged},
		{"bit flipped near the end", flip(len(data) - 100), id, ErrBundleDamaged},
		{"bit flipped in the first segment", flip(payload + 3), id, ErrBundleDamaged},
		{"a malformed age header", []byte("age-encryption.org/v1\nnonsense"), id, ErrBundleDamaged},
		{"an age file that is not a bundle", notBundle.Bytes(), id, ErrNotBundle},
	}
	for _, c := range cases {
		_, err := Import(context.Background(), b, bundleSource(c.data, c.id), Options{BatchSize: 100})
		if err == nil || (c.want != nil && !errors.Is(err, c.want)) || (c.want == nil && !errors.Is(err, ErrBundleKey) && !errors.Is(err, ErrBundleDamaged)) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
		// One diagnosis a file: a damaged bundle is not also "not a
		// bundle", and a file that is not one is not called damaged.
		if msg := err.Error(); errors.Is(err, ErrBundleDamaged) && strings.Contains(msg, "not a Cairn bundle") ||
			errors.Is(err, ErrNotBundle) && strings.Contains(msg, "damaged") {
			t.Errorf("%s: %q says two things", c.name, msg)
		}
		if now, _ := b.LastSeq(context.Background()); now != seq {
			t.Fatalf("%s: the refused bundle wrote to the vault", c.name)
		}
	}
	if after := exportJSONL(t, b, Filter{}); !bytes.Equal(before, after) {
		t.Fatal("the vault changed")
	}
}

func TestBundleFileOnDisk(t *testing.T) {
	a := newVault(t)
	fill(t, a)
	r, id := passRecipient(t, "x passphrase")
	path := filepath.Join(t.TempDir(), "out.cairn")
	if err := os.WriteFile(path, writeBundle(t, a, r), 0o600); err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 64)
	f, _ := os.Open(path)
	n, _ := f.Read(head)
	f.Close()
	if !IsBundle(head[:n]) {
		t.Fatal("a bundle is not recognised as one")
	}
	info, err := ReadBundle(context.Background(), bytes.NewReader(must(os.ReadFile(path))), []age.Identity{id}, Limits{}, nil)
	if err != nil || info.Header.Version != BundleVersion || info.Records == 0 {
		t.Fatalf("%+v %v", info, err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// A frame that claims an absurd length is refused before anything is
// allocated for it, and so is a frame out of order.
func TestBundleAbsurdFrame(t *testing.T) {
	key, _ := age.GenerateX25519Identity()
	for name, plain := range map[string][]byte{
		"4 GiB frame":        append([]byte(bundleMagic+"H"), 0xff, 0xff, 0xff, 0xff),
		"records before H":   append([]byte(bundleMagic+"R"), 0, 0, 0, 1, '\n'),
		"no end frame":       append([]byte(bundleMagic+"H"), 0, 0, 0, 2, '{', '}'),
		"junk after the end": append(append([]byte(bundleMagic+"H"), 0, 0, 0, 2, '{', '}', 'E', 0, 0, 0, 100), []byte(`{"records":0,"chunks":0,"sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}x`)...),
	} {
		var buf bytes.Buffer
		w, _ := age.Encrypt(&buf, key.Recipient())
		w.Write(plain)
		w.Close()
		_, err := ReadBundle(context.Background(), &buf, []age.Identity{key}, Limits{}, nil)
		if !errors.Is(err, ErrBundleDamaged) {
			t.Errorf("%s: %v", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
}
