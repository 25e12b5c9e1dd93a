package app

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// Where a passphrase comes from, in order: $CAIRN_PASSPHRASE, the file
// named by --passphrase-file, or a prompt without echo when stdin is a
// terminal. Scripts use the first two; people get the prompt.
const (
	envPassphrase    = "CAIRN_PASSPHRASE"
	envNewPassphrase = "CAIRN_NEW_PASSPHRASE"
	envRecoveryKey   = "CAIRN_RECOVERY_KEY"
)

var errNoPassphrase = errors.New("the vault needs its passphrase: set CAIRN_PASSPHRASE, pass --passphrase-file FILE, or run in a terminal to be asked")

// terminal reads secrets from a terminal without echo.
type terminal struct {
	in  *os.File
	out io.Writer
}

func (t terminal) isTerminal() bool { return t.in != nil && term.IsTerminal(int(t.in.Fd())) }

func (t terminal) readSecret(prompt string) ([]byte, error) {
	fmt.Fprint(t.out, prompt)
	b, err := term.ReadPassword(int(t.in.Fd()))
	fmt.Fprintln(t.out)
	if err != nil {
		return nil, fmt.Errorf("read from terminal: %w", err)
	}
	return b, nil
}

func (t terminal) readLine(prompt string) (string, error) {
	fmt.Fprint(t.out, prompt)
	s, err := bufio.NewReader(t.in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimSpace(s), nil
}

// readPassphraseFile reads a passphrase file, dropping one trailing newline.
func readPassphraseFile(path string, warn io.Writer) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("passphrase file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		fmt.Fprintf(warn, "warning: %s can be read by other users (mode %v); chmod 600 it\n", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("passphrase file: %w", err)
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	if len(b) == 0 {
		return nil, fmt.Errorf("passphrase file %s is empty", path)
	}
	return b, nil
}

// passphrase returns the current passphrase from the environment, the
// file, or the terminal.
func (c *cli) passphrase(prompt string) ([]byte, error) {
	if p := os.Getenv(envPassphrase); p != "" {
		return []byte(p), nil
	}
	if c.passFile != "" {
		return readPassphraseFile(c.passFile, c.stderr)
	}
	if !c.term.isTerminal() {
		return nil, errNoPassphrase
	}
	return c.term.readSecret(prompt)
}

// newPassphrase asks for a new passphrase twice on a terminal, with a
// strength hint; fromEnv and fromFile are the non-interactive sources.
func (c *cli) newPassphrase(fromEnv, fromFile string) ([]byte, error) {
	if p := os.Getenv(fromEnv); p != "" {
		return []byte(p), nil
	}
	if fromFile != "" {
		return readPassphraseFile(fromFile, c.stderr)
	}
	if !c.term.isTerminal() {
		return nil, fmt.Errorf("a new passphrase is needed: set %s, pass a passphrase file, or run in a terminal to be asked", fromEnv)
	}
	fmt.Fprintln(c.stderr, "Choose a passphrase: a few unrelated words are strong and easy to type (at least 8 characters).")
	for range 3 {
		p, err := c.term.readSecret("New passphrase: ")
		if err != nil {
			return nil, err
		}
		hint, ok := strengthHint(p)
		if hint != "" {
			fmt.Fprintln(c.stderr, hint)
		}
		if !ok {
			continue
		}
		again, err := c.term.readSecret("Repeat it: ")
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(p, again) {
			fmt.Fprintln(c.stderr, "The two did not match; try again.")
			continue
		}
		return p, nil
	}
	return nil, errors.New("no passphrase chosen")
}

// strengthHint says how a passphrase could be stronger, and whether it is
// acceptable at all.
func strengthHint(p []byte) (string, bool) {
	switch {
	case len(p) < 8:
		return "Too short: use at least 8 characters.", false
	case len(p) < 14 && !bytes.ContainsAny(p, " -_.,0123456789"):
		return "Hint: that is guessable; a few unrelated words would be stronger.", true
	}
	return "", true
}
