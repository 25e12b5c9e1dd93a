package memory

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

const crashChildEnv = "CAIRN_TEST_CRASH_CHILD"

func TestMain(m *testing.M) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(path)
		return
	}
	code := m.Run()
	removeBenchVaults()
	os.Exit(code)
}

// crashChild adds memories until it is killed, printing each id only after
// Add returned success.
func crashChild(path string) {
	ctx := context.Background()
	v, err := Open(ctx, Config{Path: path, KDF: testKDF})
	if err == nil {
		err = v.Unlock(ctx, testPass)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	out := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		it, err := v.Add(ctx, NewItem{Text: fmt.Sprintf("crash test memory %d %s", i, strings.Repeat("padding ", i%50))})
		if err != nil {
			fmt.Fprintln(os.Stderr, "child add:", err)
			os.Exit(3)
		}
		if i%7 == 0 {
			text := it.Text + " edited"
			if _, err := v.Edit(ctx, it.ID, Patch{Text: &text}); err != nil {
				fmt.Fprintln(os.Stderr, "child edit:", err)
				os.Exit(3)
			}
		}
		fmt.Fprintln(out, it.ID)
		out.Flush()
	}
}

// kill -9 a process that is adding memories, 50 times at random moments:
// every add that returned success is present after reopening, and SQLite's
// integrity check passes.
func TestKillNineLosesNothingCommitted(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns 50 processes")
	}
	ctx := context.Background()
	v, cfg := newTestVault(t)
	v.Close()
	acked := map[string]bool{}
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 50 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+cfg.Path)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// Wait for the first acknowledged add, then kill at a random moment.
		first, ok := <-lines
		if !ok {
			cmd.Wait()
			t.Fatalf("round %d: child wrote nothing: %s", round, stderr.String())
		}
		acked[first] = true
		time.AfterFunc(time.Duration(rng.IntN(40))*time.Millisecond, func() { cmd.Process.Signal(syscall.SIGKILL) })
		for id := range lines {
			acked[id] = true
		}
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: child ended without being killed: %v %s", round, err, stderr.String())
		}
	}
	v2 := openTestVault(t, cfg)
	var check string
	if err := v2.db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q %v", check, err)
	}
	if _, err := v2.db.Exec("INSERT INTO blind_index(blind_index) VALUES('integrity-check')"); err != nil {
		t.Fatalf("blind index integrity check: %v", err)
	}
	for id := range acked {
		if _, err := v2.Get(ctx, id); err != nil {
			t.Fatalf("acknowledged memory %s lost: %v", id, err)
		}
	}
	if bad, err := v2.Verify(ctx); err != nil || len(bad) > 0 {
		t.Fatalf("verify after crashes: %v %v", bad, err)
	}
	t.Logf("%d acknowledged adds over 50 kills, all present", len(acked))
}
