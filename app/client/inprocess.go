package client

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"sync"
)

// handlerTransport answers a request by calling an http.Handler in this
// process. The response body is a pipe the handler writes into while the
// caller reads, so a streaming route streams here as over a socket.
//
// A call returns only once the handler has: closing the body (or a
// cancelled request) waits for it. A stopped chat reply is then stored
// (marked incomplete) before the caller goes on or closes the vault, as a
// running owner would have stored it.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body == nil {
		req.Body = http.NoBody
	}
	if req.ContentLength > 0 {
		req.Header.Set("Content-Length", strconv.FormatInt(req.ContentLength, 10))
	}
	req.RemoteAddr = "in-process"
	// Closing the body cancels the handler, as a closed connection would.
	ctx, cancel := context.WithCancel(req.Context())
	req = req.WithContext(ctx)
	pr, pw := io.Pipe()
	w := &pipeResponse{header: http.Header{}, body: pw, sent: make(chan struct{})}
	served := make(chan struct{})
	go func() {
		defer close(served)
		defer func() {
			w.WriteHeader(http.StatusOK) // a handler that wrote nothing
			pw.Close()
		}()
		t.h.ServeHTTP(w, req)
	}()
	select {
	case <-w.sent:
	case <-req.Context().Done():
		pr.CloseWithError(req.Context().Err())
		<-served
		cancel()
		return nil, req.Context().Err()
	}
	return &http.Response{
		Status: strconv.Itoa(w.status) + " " + http.StatusText(w.status), StatusCode: w.status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: w.sentHeader, Body: &servedBody{pr, cancel, served}, ContentLength: -1, Request: req,
	}, nil
}

// servedBody is an in-process response's body: Close ends the handler's
// writes and waits for it to return.
type servedBody struct {
	*io.PipeReader
	cancel context.CancelFunc
	served chan struct{}
}

func (b *servedBody) Close() error {
	b.cancel()
	b.PipeReader.Close()
	<-b.served
	return nil
}

// pipeResponse is the handler's http.ResponseWriter: the status and
// headers go out on the first write, the body through the pipe.
type pipeResponse struct {
	header     http.Header
	body       *io.PipeWriter
	once       sync.Once
	sent       chan struct{}
	status     int
	sentHeader http.Header
}

func (w *pipeResponse) Header() http.Header { return w.header }

func (w *pipeResponse) WriteHeader(status int) {
	w.once.Do(func() {
		w.status, w.sentHeader = status, w.header.Clone()
		close(w.sent)
	})
}

func (w *pipeResponse) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}

// Flush is a no-op: every write already reaches the reader.
func (w *pipeResponse) Flush() {}
