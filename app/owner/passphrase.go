package owner

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
	EnvPassphrase    = "CAIRN_PASSPHRASE"
	EnvNewPassphrase = "CAIRN_NEW_PASSPHRASE"
	EnvRecoveryKey   = "CAIRN_RECOVERY_KEY"
)

var ErrNoPassphrase = errors.New("the vault needs its passphrase: set CAIRN_PASSPHRASE, pass --passphrase-file FILE, or run in a terminal to be asked")

// Terminal reads secrets from a terminal without echo.
type Terminal struct {
	In  *os.File
	Out io.Writer
}

func (t Terminal) IsTerminal() bool { return t.In != nil && term.IsTerminal(int(t.In.Fd())) }

func (t Terminal) ReadSecret(prompt string) ([]byte, error) {
	fmt.Fprint(t.Out, prompt)
	b, err := term.ReadPassword(int(t.In.Fd()))
	fmt.Fprintln(t.Out)
	if err != nil {
		return nil, fmt.Errorf("read from terminal: %w", err)
	}
	return b, nil
}

func (t Terminal) ReadLine(prompt string) (string, error) {
	fmt.Fprint(t.Out, prompt)
	s, err := bufio.NewReader(t.In).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimSpace(s), nil
}

// ReadPassphraseFile reads a passphrase file, dropping one trailing newline.
func ReadPassphraseFile(path string, warn io.Writer) ([]byte, error) {
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

// Passphrase returns the current passphrase from the environment, the
// file, or the terminal.
func (c *Env) Passphrase(prompt string) ([]byte, error) {
	if p := os.Getenv(EnvPassphrase); p != "" {
		return []byte(p), nil
	}
	if c.PassFile != "" {
		return ReadPassphraseFile(c.PassFile, c.Stderr)
	}
	if !c.Term.IsTerminal() {
		return nil, ErrNoPassphrase
	}
	return c.Term.ReadSecret(prompt)
}

// NewPassphrase asks for a new passphrase twice on a terminal, with a
// strength hint; fromEnv and fromFile are the non-interactive sources.
func (c *Env) NewPassphrase(fromEnv, fromFile string) ([]byte, error) {
	if p := os.Getenv(fromEnv); p != "" {
		return []byte(p), nil
	}
	if fromFile != "" {
		return ReadPassphraseFile(fromFile, c.Stderr)
	}
	if !c.Term.IsTerminal() {
		return nil, fmt.Errorf("a new passphrase is needed: set %s, pass a passphrase file, or run in a terminal to be asked", fromEnv)
	}
	fmt.Fprintln(c.Stderr, "Choose a passphrase: a few unrelated words are strong and easy to type (at least 8 characters).")
	for range 3 {
		p, err := c.Term.ReadSecret("New passphrase: ")
		if err != nil {
			return nil, err
		}
		hint, ok := strengthHint(p)
		if hint != "" {
			fmt.Fprintln(c.Stderr, hint)
		}
		if !ok {
			continue
		}
		again, err := c.Term.ReadSecret("Repeat it: ")
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(p, again) {
			fmt.Fprintln(c.Stderr, "The two did not match; try again.")
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
