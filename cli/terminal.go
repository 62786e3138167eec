package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// Terminal is standard input when it is an interactive terminal: commands
// ask questions there and read secrets from it without echo.
type Terminal interface {
	// IsTerminal reports whether standard input is an interactive
	// terminal.
	IsTerminal() bool
	// ReadSecret reads one line with echo off, without its line end.
	ReadSecret() (string, error)
}

// FileTerminal is the Terminal of f (os.Stdin in the program): a terminal
// when f is one, read through golang.org/x/term.
func FileTerminal(f *os.File) Terminal { return fileTerminal{f} }

type fileTerminal struct{ f *os.File }

func (t fileTerminal) IsTerminal() bool { return t.f != nil && term.IsTerminal(int(t.f.Fd())) }

func (t fileTerminal) ReadSecret() (string, error) {
	b, err := term.ReadPassword(int(t.f.Fd()))
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read from the terminal: %w", err)
	}
	return string(b), nil
}

// isTerminal reports whether the run's standard input is an interactive
// terminal.
func (e *Env) isTerminal() bool { return e.Terminal != nil && e.Terminal.IsTerminal() }

// confirm asks question on standard error, followed by " [y/N] ", and
// reports whether the line read from standard input says y or yes (in any
// case); anything else, end of input included, is no.
func (e *Env) confirm(question string) bool {
	fmt.Fprint(e.Stderr, question+" [y/N] ")
	line, _ := readLine(e.Stdin)
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes"
}

// readSecret prompts on stderr and reads a secret from the terminal without
// echo, ending the prompt's line afterwards (the Enter was not echoed).
func (e *Env) readSecret(prompt string) (string, error) {
	fmt.Fprint(e.Stderr, prompt)
	s, err := e.Terminal.ReadSecret()
	fmt.Fprintln(e.Stderr)
	return s, err
}
