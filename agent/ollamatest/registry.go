package ollamatest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ollama/ollama/api"
)

// Registry is a local OCI registry (distribution v3) that Ollama can push to
// and pull from, behind a small front that makes pulls work: Ollama fetches a
// blob only from the Location of a redirect to another host name (as
// registry.ollama.ai redirects to its CDN), so the front answers
// GET /v2/<name>/blobs/<digest> with a 307 to the same path on
// localhost:<front port>, serves that itself from the registry (at BlobRate
// when set), and passes everything else through unchanged.
type Registry struct {
	// Host is the front's "127.0.0.1:PORT": model names start with it.
	Host string
	// URL is http://Host.
	URL *url.URL
	// Backend is the registry's own "127.0.0.1:PORT".
	Backend string
	// LogPath is the registry's log file, inside the temporary directory
	// (removed by Close).
	LogPath string
	// BlobRate, when above zero, slows blob downloads to that many bytes
	// a second, so a pull of the tiny model shows progress on its way.
	BlobRate atomic.Int64

	dir       string
	proc      *process
	front     *http.Server
	frontDone chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// registryConfig stores to a directory and listens on one loopback address.
const registryConfig = `version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
`

// StartRegistry starts a registry and its front on free loopback ports.
func StartRegistry(ctx context.Context) (*Registry, error) {
	bin, err := RegistryBinary()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "cairn-registry-")
	if err != nil {
		return nil, fmt.Errorf("start registry: %w", err)
	}
	r := &Registry{dir: dir, LogPath: filepath.Join(dir, "registry.log")}
	for attempt := 1; ; attempt++ {
		err = r.serve(ctx, bin)
		if err == nil {
			break
		}
		if attempt == 3 || !strings.Contains(logTail(r.LogPath), "address already in use") {
			r.Close()
			return nil, err
		}
		if r.proc != nil {
			r.proc.stop()
			r.proc = nil
		}
	}
	if err := r.startFront(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

func (r *Registry) serve(ctx context.Context, bin string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	r.Backend = "127.0.0.1:" + strconv.Itoa(port)
	config := filepath.Join(r.dir, "config.yml")
	text := fmt.Sprintf(registryConfig, filepath.Join(r.dir, "data"), r.Backend)
	if err := os.WriteFile(config, []byte(text), 0o644); err != nil {
		return fmt.Errorf("start registry: %w", err)
	}
	// Without OTEL_TRACES_EXPORTER=none it keeps trying to export traces.
	env := childEnv([]string{"OTEL_*", "REGISTRY_*"}, "OTEL_TRACES_EXPORTER=none")
	r.proc, err = startProcess(bin, []string{"serve", config}, env, r.LogPath, r.dir)
	if err != nil {
		return fmt.Errorf("start registry: %w", err)
	}
	return waitReady(ctx, r.proc, "http://"+r.Backend+"/v2/", "registry", r.LogPath)
}

func (r *Registry) startFront() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("start registry front: %w", err)
	}
	r.Host = ln.Addr().String()
	r.URL = &url.URL{Scheme: "http", Host: r.Host}
	r.front = &http.Server{Handler: newFront(r.Backend, r.Host, &r.BlobRate), ReadHeaderTimeout: 10 * time.Second}
	r.frontDone = make(chan struct{})
	go func() {
		defer close(r.frontDone)
		_ = r.front.Serve(ln)
	}()
	return nil
}

// newFront returns the handler in front of the registry at backend
// ("127.0.0.1:PORT"), listening at front ("127.0.0.1:PORT"). A blob GET to
// 127.0.0.1 is redirected to the same path on localhost (another host
// name, which is what Ollama needs); the front serves that one itself,
// at rate bytes a second when rate is set.
func newFront(backend, front string, rate *atomic.Int64) http.Handler {
	_, port, _ := net.SplitHostPort(front)
	target := &url.URL{Scheme: "http", Host: backend}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			// The registry builds upload Locations from Host: keep them
			// pointing at the front.
			pr.Out.Host = pr.In.Host
		},
		ModifyResponse: func(resp *http.Response) error {
			if bps := rate.Load(); bps > 0 && resp.Request.Method == http.MethodGet && isBlobPath(resp.Request.URL.Path) {
				resp.Body = &slowReader{r: resp.Body, bps: bps}
			}
			return nil
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodGet && isBlobPath(req.URL.Path) && !strings.HasPrefix(req.Host, "localhost:") {
			to := url.URL{Scheme: "http", Host: "localhost:" + port, Path: req.URL.Path, RawPath: req.URL.RawPath, RawQuery: req.URL.RawQuery}
			http.Redirect(w, req, to.String(), http.StatusTemporaryRedirect)
			return
		}
		// HEAD goes through as is: the registry's Content-Length is what
		// Ollama sizes the blob by.
		proxy.ServeHTTP(w, req)
	})
}

// slowReader reads at most bps bytes a second.
type slowReader struct {
	r     io.ReadCloser
	bps   int64
	start time.Time
	n     int64
}

func (s *slowReader) Read(p []byte) (int, error) {
	if s.start.IsZero() {
		s.start = time.Now()
	}
	if max := s.bps / 20; int64(len(p)) > max {
		p = p[:max]
	}
	n, err := s.r.Read(p)
	s.n += int64(n)
	if ahead := time.Duration(s.n*int64(time.Second)/s.bps) - time.Since(s.start); ahead > 0 {
		time.Sleep(ahead)
	}
	return n, err
}

func (s *slowReader) Close() error { return s.r.Close() }

// isBlobPath reports whether p is /v2/<name>/blobs/<digest>.
func isBlobPath(p string) bool {
	if !strings.HasPrefix(p, "/v2/") {
		return false
	}
	i := strings.LastIndex(p, "/blobs/")
	if i <= len("/v2") {
		return false
	}
	digest := p[i+len("/blobs/"):]
	return strings.Contains(digest, ":") && !strings.Contains(digest, "/")
}

// Close stops the front and the registry and removes the registry's data.
// It is safe to call more than once.
func (r *Registry) Close() error {
	r.closeOnce.Do(func() {
		var errs []error
		if r.front != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := r.front.Shutdown(ctx); err != nil {
				_ = r.front.Close()
			}
			cancel()
			<-r.frontDone
		}
		if r.proc != nil {
			r.proc.stop()
		}
		if err := os.RemoveAll(r.dir); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", r.dir, err))
		}
		r.closeErr = errors.Join(errs...)
	})
	return r.closeErr
}

// Push creates REG/library/<model> on the server and pushes it to reg
// (insecurely: plain HTTP), returning that name, which another server can
// pull with Insecure set. The pushed model is a copy of the server's model of
// that name if it has one (Tiny, TinyTools, or one made with CreateModel),
// else it is made from GGUF.
func (s *Server) Push(ctx context.Context, reg *Registry, model string) (string, error) {
	name := reg.Host + "/library/" + model
	from := s.GGUF
	if _, err := s.Client().Show(ctx, &api.ShowRequest{Model: model}); err == nil {
		from = model
	}
	if err := s.CreateModel(ctx, name, "FROM "+from+"\n"); err != nil {
		return "", fmt.Errorf("push %s: %w", model, err)
	}
	err := s.Client().Push(ctx, &api.PushRequest{Model: name, Insecure: true}, func(api.ProgressResponse) error { return nil })
	if err != nil {
		return "", fmt.Errorf("push %s: %w; ollama log %s ends:\n%s", name, err, s.LogPath, logTail(s.LogPath))
	}
	return name, nil
}
