package sync

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/network"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/cairnlabs/cairn/memory"
	"github.com/cairnlabs/cairn/memory/memtest"
)

const benchRecords = 10_000

var (
	templateMu   gosync.Mutex
	templateDirs = map[int]string{}
)

// TestMain removes the benchmarks' template vaults when the run ends.
func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.bench"); f != nil && f.Value.String() != "" {
		// The nodes' log lines would land inside the result lines that
		// make bench parses.
		slog.SetDefault(slog.New(slog.DiscardHandler))
	}
	code := m.Run()
	closeInferOllama()
	for _, dir := range templateDirs {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// template makes, once per run and size, a vault with n memories that
// benchmarks copy, so that they time sync and not the writing.
func template(b *testing.B, n int) string {
	templateMu.Lock()
	defer templateMu.Unlock()
	if dir, ok := templateDirs[n]; ok {
		return dir
	}
	dir, err := os.MkdirTemp("", "cairn-sync-bench")
	if err != nil {
		b.Fatal(err)
	}
	templateDirs[n] = dir
	ctx := context.Background()
	v, _, err := memory.Create(ctx, memory.Config{Path: filepath.Join(dir, "vault.db"), KDF: testKDF}, []byte("correct horse battery"))
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	// Through the apply path that import uses, a thousand to a
	// transaction: the records are what Add would write, and 100k of them
	// are built in seconds rather than minutes of one fsync each.
	base := time.Now().Add(-time.Duration(n) * time.Millisecond)
	var recs []memory.PlainRecord
	for i := range n {
		at := base.Add(time.Duration(i) * time.Millisecond)
		payload, _ := json.Marshal(map[string]any{"kind": "fact", "created_at": at, "updated_at": at,
			"text": fmt.Sprintf("memory number %d: the person likes their coffee with %d sugars and reads at night", i, i%4)})
		recs = append(recs, memory.PlainRecord{ID: fmt.Sprintf("bench-%07d", i), Kind: memory.KindMemory, Schema: 2,
			Clock: memory.Clock(uint64(at.UnixMilli()) << 16), Origin: "bench-origin", Payload: payload})
		if len(recs) == 1000 || i == n-1 {
			res, err := v.ApplyPlain(ctx, recs, false)
			if err != nil {
				b.Fatal(err)
			}
			for _, r := range res {
				if r.Err != nil {
					b.Fatal(r.Err)
				}
			}
			recs = recs[:0]
		}
	}
	if err := v.Checkpoint(ctx); err != nil {
		b.Fatal(err)
	}
	return dir
}

// deviceFrom opens a copy of the template vault as a device.
func deviceFrom(b *testing.B, src, name string, emb memory.Embedder) *device {
	dir := filepath.Join(b.TempDir(), name)
	os.MkdirAll(dir, 0o700)
	raw, err := os.ReadFile(filepath.Join(src, "vault.db"))
	if err != nil {
		b.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "vault.db"), raw, 0o600)
	ctx := context.Background()
	v, err := memory.Open(ctx, memory.Config{Path: filepath.Join(dir, "vault.db"), Embedder: emb})
	if err != nil {
		b.Fatal(err)
	}
	if err := v.Unlock(ctx, []byte("correct horse battery")); err != nil {
		b.Fatal(err)
	}
	d := &device{t: b, name: name, dir: dir, vault: v, cfg: testConfig(name)}
	d.start()
	b.Cleanup(func() {
		if d.node != nil {
			d.node.Close()
		}
		v.Close()
	})
	return d
}

func waitSeq(b *testing.B, v *memory.Vault, n int64) {
	for {
		s, err := v.LastSeq(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if s >= n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// BenchmarkSyncConverge: a paired device with an empty vault catches up
// with N memories on loopback, from pairing to the last record stored
// (targets: under 1 s for 10k, under 8 s for 100k), against the same bytes
// over one raw libp2p stream in the same run (sync/raw).
func BenchmarkSyncConverge(b *testing.B) {
	for _, n := range []int{1_000, 3_000, benchRecords, 100_000} {
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) {
			a := deviceFrom(b, template(b, n), "a", nil)
			payload := feedBytes(b, a.vault, n)
			var total, raw, cpu time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				fresh := newDevice(b, fmt.Sprintf("b%d", i))
				b.StartTimer()
				start, cpu0 := time.Now(), memtest.ProcessCPU()
				pair(b, a, fresh)
				waitSeq(b, fresh.vault, int64(n))
				total += time.Since(start)
				cpu += memtest.ProcessCPU() - cpu0
				b.StopTimer()
				fresh.stop()
				raw += rawStream(b, payload)
				b.StartTimer()
			}
			b.ReportMetric(total.Seconds()/float64(b.N), "s")
			b.ReportMetric(float64(n)*float64(b.N)/total.Seconds(), "records/s")
			b.ReportMetric(raw.Seconds()/total.Seconds(), "sync/raw")
			// Both devices run in this process: its CPU time is what the
			// catch-up costs, which on a shared machine the wall clock is not.
			b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s")
		})
	}
}

// feedBytes is how many bytes of sync batches the first n entries of v's
// feed make: what a raw stream carries to compare.
func feedBytes(b *testing.B, v *memory.Vault, n int) int64 {
	var total int64
	for after := int64(0); ; {
		entries, err := v.SyncFeed(context.Background(), after, 5000)
		if err != nil {
			b.Fatal(err)
		}
		if len(entries) == 0 {
			return total
		}
		for _, e := range entries {
			total += int64(len(encodeBatch(batch{records: []memory.Record{e.Record}})))
		}
		after = entries[len(entries)-1].Seq
	}
}

// countingProxy forwards TCP to target and counts every byte both ways:
// Noise, yamux and sync framing included.
type countingProxy struct {
	ln    net.Listener
	bytes atomic.Int64
}

func newCountingProxy(b *testing.B, target string) *countingProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	p := &countingProxy{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				u, err := net.Dial("tcp", target)
				if err != nil {
					c.Close()
					return
				}
				cp := func(dst, src net.Conn) {
					buf := make([]byte, 32<<10)
					for {
						n, err := src.Read(buf)
						if n > 0 {
							p.bytes.Add(int64(n))
							dst.Write(buf[:n])
						}
						if err != nil {
							dst.Close()
							return
						}
					}
				}
				go cp(u, c)
				cp(c, u)
			}()
		}
	}()
	b.Cleanup(func() { ln.Close() })
	return p
}

// BenchmarkSyncEditBytes: bytes on the wire, both ways and all framing
// included, for one edit of a 200-character memory, with 768-dimension
// embeddings configured (they never travel). Target: under 1 KB.
func BenchmarkSyncEditBytes(b *testing.B) {
	ctx := context.Background()
	emb := memtest.NewEmbedder(768)
	a, c := newDevice(b, "a"), newDevice(b, "b")
	a.vault.SetEmbedder(ctx, emb)
	c.vault.SetEmbedder(ctx, emb)
	text := func(i int) string {
		s := fmt.Sprintf("edit %d: ", i)
		for len(s) < 200 {
			s += "the person prefers green tea in the morning. "
		}
		return s[:200]
	}
	it := a.add(text(0))
	pair(b, a, c)
	eventually(b, "catch-up", converged(b, a.vault, c.vault))
	// Again, with the only connection through a counting proxy.
	a.stop()
	c.stop()
	for _, d := range []*device{a, c} {
		st, _ := loadState(filepath.Join(d.dir, "sync"))
		st.update(func(s *stateFile) { clear(s.Addrs) })
	}
	a.cfg.Listen = []string{"/ip4/127.0.0.1/tcp/0"}
	a.start()
	na, err := manet.ToNetAddr(a.node.Host().Addrs()[0])
	if err != nil {
		b.Fatal(err)
	}
	proxy := newCountingProxy(b, na.String())
	c.start()
	pa := proxy.ln.Addr().(*net.TCPAddr)
	c.node.AddPeerAddr(fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", pa.Port, a.node.ID()))
	eventually(b, "connected through the proxy", func() bool { return linked(c.node.Host(), a.node.ID()) })
	time.Sleep(500 * time.Millisecond) // hellos, identify: not part of an edit
	b.ResetTimer()
	var total int64
	for i := 0; i < b.N; i++ {
		want := text(i + 1)
		before := proxy.bytes.Load()
		if _, err := a.vault.Edit(ctx, it.ID, memory.Patch{Text: &want}); err != nil {
			b.Fatal(err)
		}
		a.node.Notify()
		eventually(b, "the edit arrives", func() bool {
			got, err := c.vault.Get(ctx, it.ID)
			return err == nil && got.Text == want
		})
		time.Sleep(300 * time.Millisecond) // the ack and any echo
		total += proxy.bytes.Load() - before
	}
	b.ReportMetric(float64(total)/float64(b.N), "bytes/edit")
}

// BenchmarkSyncThroughput: replication of 10k memories against a raw libp2p
// stream carrying the same number of bytes between two hosts, same run.
func BenchmarkSyncThroughput(b *testing.B) {
	src := template(b, benchRecords)
	a := deviceFrom(b, src, "a", nil)
	payload := feedBytes(b, a.vault, benchRecords)
	var syncTime, rawTime time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		fresh := newDevice(b, fmt.Sprintf("b%d", i))
		b.StartTimer()
		start := time.Now()
		pair(b, a, fresh)
		waitSeq(b, fresh.vault, benchRecords)
		syncTime += time.Since(start)
		b.StopTimer()
		fresh.stop()
		rawTime += rawStream(b, payload)
		b.StartTimer()
	}
	syncMBs := float64(payload) * float64(b.N) / syncTime.Seconds() / 1e6
	rawMBs := float64(payload) * float64(b.N) / rawTime.Seconds() / 1e6
	b.ReportMetric(syncMBs, "sync-MB/s")
	b.ReportMetric(rawMBs, "raw-MB/s")
	b.ReportMetric(syncMBs/rawMBs, "sync/raw")
}

// rawStream times n bytes over one libp2p stream (TCP, Noise, yamux) on
// loopback, read to the end by the other side.
func rawStream(b *testing.B, n int64) time.Duration {
	opts := []libp2p.Option{libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableMetrics()}
	h1, err := libp2p.New(opts...)
	if err != nil {
		b.Fatal(err)
	}
	defer h1.Close()
	h2, err := libp2p.New(opts...)
	if err != nil {
		b.Fatal(err)
	}
	defer h2.Close()
	done := make(chan struct{})
	h2.SetStreamHandler("/bench/raw", func(s network.Stream) {
		io.Copy(io.Discard, s)
		s.Write([]byte{1})
		s.Close()
		close(done)
	})
	ctx := context.Background()
	if err := h1.Connect(ctx, *hostInfo(h2)); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	s, err := h1.NewStream(ctx, h2.ID(), "/bench/raw")
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 256<<10)
	for left := n; left > 0; left -= int64(len(buf)) {
		s.Write(buf[:min(int64(len(buf)), left)])
	}
	s.CloseWrite()
	io.ReadAll(s)
	<-done
	return time.Since(start)
}
