package ollamatest

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// Recorder stands in front of a real Ollama and tells when a chat's reply
// was cut off by its caller before Ollama's last line ("done": true): the
// fact that whoever called Ollama stopped the generation. It also keeps
// what was asked (Saw), so a test can tell which requests reached this
// Ollama.
type Recorder struct {
	// URL is the recorder's address, to give in Ollama's place.
	URL *url.URL
	// CutOff receives once for each chat whose caller hung up mid-reply.
	CutOff chan struct{}

	mu   sync.Mutex
	seen []string // "PATH BODY" of each request, in memory only
}

// Saw reports whether a request to path whose body holds every needle
// went through.
func (r *Recorder) Saw(path string, needles ...string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.seen {
		body, ok := strings.CutPrefix(s, path+" ")
		if !ok {
			continue
		}
		all := true
		for _, n := range needles {
			all = all && strings.Contains(body, n)
		}
		if all {
			return true
		}
	}
	return false
}

// NewRecorder starts a recorder for upstream on a loopback port; it stops
// with the test.
func NewRecorder(t testing.TB, upstream *url.URL) *Recorder {
	t.Helper()
	rec := &Recorder{CutOff: make(chan struct{}, 16)}
	rev := httputil.NewSingleHostReverseProxy(upstream)
	rev.FlushInterval = -1
	rev.ErrorLog = nil
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec.mu.Lock()
		rec.seen = append(rec.seen, r.URL.Path+" "+string(body))
		rec.mu.Unlock()
		if r.URL.Path != "/api/chat" {
			rev.ServeHTTP(w, r)
			return
		}
		dw := &doneWatcher{ResponseWriter: w}
		// Deferred: the proxy ends a reply whose caller hung up by
		// panicking with http.ErrAbortHandler.
		defer func() {
			if !dw.done {
				select {
				case rec.CutOff <- struct{}{}:
				default:
				}
			}
		}()
		rev.ServeHTTP(dw, r)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	rec.URL = &url.URL{Scheme: "http", Host: ln.Addr().String()}
	return rec
}

// doneWatcher notes whether Ollama's last NDJSON line ("done": true) went
// through.
type doneWatcher struct {
	http.ResponseWriter
	done bool
	tail string // the end of what was written, for a line split across writes
}

func (d *doneWatcher) Write(b []byte) (int, error) {
	seen := d.tail + string(b)
	d.done = d.done || strings.Contains(seen, `"done":true`)
	d.tail = seen[max(0, len(seen)-16):]
	return d.ResponseWriter.Write(b)
}

func (d *doneWatcher) Flush() {
	if f, ok := d.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
