package ollamatest

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/parser"
)

// The models Start creates, and what is true of them.
const (
	// Tiny is the plain model: completion only, no tools.
	Tiny = "tiny"
	// TinyTools is Tiny with a llama3.1-style TEMPLATE that uses .Tools, so
	// Ollama reports the "tools" capability and accepts tools in a chat.
	TinyTools = "tiny-tools"
	// TinyContextLength is the context length /api/show reports for both.
	TinyContextLength = 4096
	// TinyEmbeddingDim is the length of the vectors /api/embed returns.
	TinyEmbeddingDim = 8
)

// startTimeout bounds waiting for a server to answer.
const startTimeout = 60 * time.Second

// Server is a running `ollama serve`. Close it when done.
type Server struct {
	// URL is the server's base URL, http://127.0.0.1:PORT.
	URL *url.URL
	// Host is "127.0.0.1:PORT", as OLLAMA_HOST takes it.
	Host string
	// LogPath is the server's log file, inside the temporary directory
	// (removed by Close).
	LogPath string
	// GGUF is the tiny model's file, for Modelfiles of other variants.
	GGUF string

	dir       string // temporary directory: home, models, log
	proc      *process
	closeOnce sync.Once
	closeErr  error
}

// Start starts a server and creates Tiny and TinyTools on it.
func Start(ctx context.Context) (*Server, error) {
	s, err := StartEmpty(ctx)
	if err != nil {
		return nil, err
	}
	for _, m := range []struct{ name, modelfile string }{
		{Tiny, "FROM " + s.GGUF + "\n"},
		{TinyTools, "FROM " + s.GGUF + "\nTEMPLATE \"\"\"" + llama31Template + "\"\"\"\n"},
	} {
		if err := s.CreateModel(ctx, m.name, m.modelfile); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// StartEmpty starts a server with no models, as a fresh install has.
func StartEmpty(ctx context.Context) (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	gguf, err := TinyGGUF()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "cairn-ollama-")
	if err != nil {
		return nil, fmt.Errorf("start ollama: %w", err)
	}
	s := &Server{dir: dir, LogPath: filepath.Join(dir, "ollama.log"), GGUF: gguf}
	for _, sub := range []string{"home", "models"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			s.Close()
			return nil, fmt.Errorf("start ollama: %w", err)
		}
	}
	// A port found free may be taken before ollama binds it: try again then.
	for attempt := 1; ; attempt++ {
		err = s.serve(ctx, bin)
		if err == nil {
			return s, nil
		}
		if attempt == 3 || !strings.Contains(logTail(s.LogPath), "address already in use") {
			s.Close()
			return nil, err
		}
		if s.proc != nil {
			s.proc.stop()
			s.proc = nil
		}
	}
}

// serve starts ollama on a free port and waits until it answers.
func (s *Server) serve(ctx context.Context, bin string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	s.Host = "127.0.0.1:" + strconv.Itoa(port)
	s.URL = &url.URL{Scheme: "http", Host: s.Host}
	// HOME is where ollama keeps its key (~/.ollama/id_ed25519, made on first
	// serve); a temporary one leaves the user's alone. Every other OLLAMA_*
	// setting of the user's is dropped, so the tests see the defaults.
	env := childEnv([]string{"OLLAMA_*", "HOME"},
		"HOME="+filepath.Join(s.dir, "home"),
		"OLLAMA_HOST="+s.Host,
		"OLLAMA_MODELS="+filepath.Join(s.dir, "models"),
	)
	s.proc, err = startProcess(bin, []string{"serve"}, env, s.LogPath, s.dir)
	if err != nil {
		return fmt.Errorf("start ollama: %w", err)
	}
	return waitReady(ctx, s.proc, s.URL.String()+"/api/version", "ollama", s.LogPath)
}

// waitReady polls u until it answers 200, the process exits, or time is up.
func waitReady(ctx context.Context, p *process, u, what, logPath string) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before it answered (%v); its log %s ends:\n%s", what, p.waitErr, logPath, logTail(logPath))
		case <-ctx.Done():
			return fmt.Errorf("%s did not answer %s: %w; its log %s ends:\n%s", what, u, ctx.Err(), logPath, logTail(logPath))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Client returns an Ollama API client for the server.
func (s *Server) Client() *api.Client {
	return api.NewClient(s.URL, &http.Client{})
}

// CreateModel creates model name from the text of a Modelfile, through the
// API as `ollama create` does: the files FROM names are uploaded as blobs.
// FROM may name a model the server has ("FROM tiny\nPARAMETER num_ctx 2048")
// or a file; a relative path is taken from the directory of GGUF.
func (s *Server) CreateModel(ctx context.Context, name, modelfile string) error {
	mf, err := parser.ParseFile(strings.NewReader(modelfile))
	if err != nil {
		return fmt.Errorf("create model %s: parse Modelfile: %w", name, err)
	}
	req, err := mf.CreateRequest(filepath.Dir(s.GGUF))
	if err != nil {
		return fmt.Errorf("create model %s: %w", name, err)
	}
	client := s.Client()
	files := make(map[string]string, len(req.Files))
	for path, digest := range req.Files {
		if err := uploadBlob(ctx, client, path, digest); err != nil {
			return fmt.Errorf("create model %s: %w", name, err)
		}
		files[filepath.Base(path)] = digest
	}
	if len(req.Adapters) > 0 {
		return fmt.Errorf("create model %s: ADAPTER is not supported here", name)
	}
	req.Files = files
	req.Model = name
	if err := client.Create(ctx, req, func(api.ProgressResponse) error { return nil }); err != nil {
		return fmt.Errorf("create model %s: %w; ollama log %s ends:\n%s", name, err, s.LogPath, logTail(s.LogPath))
	}
	return nil
}

func uploadBlob(ctx context.Context, client *api.Client, path, digest string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := client.CreateBlob(ctx, digest, f); err != nil {
		return fmt.Errorf("upload %s: %w", path, err)
	}
	return nil
}

// LogTail returns the end of the server's log, for a failing test to show.
func (s *Server) LogTail() string { return logTail(s.LogPath) }

// Close stops the server (and the model runners it started) and removes its
// temporary directory. It is safe to call more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		if s.proc != nil {
			s.proc.stop()
		}
		if err := os.RemoveAll(s.dir); err != nil {
			s.closeErr = fmt.Errorf("remove %s: %w", s.dir, err)
		}
	})
	return s.closeErr
}
