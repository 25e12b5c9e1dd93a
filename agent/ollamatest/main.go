package ollamatest

import (
	"context"
	"fmt"
	"os"
	"testing"
)

// Main starts a Server for a test package, points *srv at it, runs the tests
// and stops the server; TestMain passes its result to os.Exit. When the
// server does not start, Main runs no tests and returns 1, having printed why
// (with the end of the server's log). If a test panics or times out, the
// process dies without returning here, and a watchdog stops the server.
func Main(m *testing.M, srv **Server) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*startTimeout)
	s, err := Start(ctx)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "ollamatest: %v\n", err)
		return 1
	}
	*srv = s
	defer func() {
		if err := s.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "ollamatest: %v\n", err)
		}
	}()
	return m.Run()
}
