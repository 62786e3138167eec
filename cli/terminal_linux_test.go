package cli

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// echoOn reports whether the terminal tty echoes what is typed.
func echoOn(t *testing.T, tty *os.File) bool {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatalf("read the terminal settings: %v", err)
	}
	return tio.Lflag&unix.ECHO != 0
}

// typed is one line typed at the terminal; secret lines are typed once the
// command has turned the echo off.
type typed struct {
	line   string
	secret bool
}

// typeOnPty runs keydesk in-process with a real pseudo-terminal as standard
// input, types line once the terminal's echo is off, and returns the run's
// output and everything the terminal echoed.
func typeOnPty(t *testing.T, h *harness, line string, args ...string) (stdout, stderr, echoed string, code int) {
	t.Helper()
	return typeLinesOnPty(t, h, []typed{{line, true}}, args...)
}

// typeLinesOnPty runs keydesk in-process on a real pseudo-terminal and types
// lines, each secret one only while the echo is off (a command that reads
// one with the echo on fails the test), and checks that the command turns
// the echo back on.
func typeLinesOnPty(t *testing.T, h *harness, lines []typed, args ...string) (stdout, stderr, echoed string, code int) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	h.term = FileTerminal(tty)
	defer func() { h.term = nil }()
	if !echoOn(t, tty) {
		t.Fatal("a new pseudo-terminal has echo off")
	}
	type result struct {
		out, err string
		code     int
	}
	done := make(chan result, 1)
	go func() {
		o, e, c := h.main(tty, args...)
		done <- result{o, e, c}
	}()
	// waitFor polls the terminal's own state (not a timer) until cond
	// holds; false when it never does.
	waitFor := func(cond func() bool) bool {
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				return false
			}
			time.Sleep(time.Millisecond)
		}
		return true
	}
	for _, l := range lines {
		if l.secret && !waitFor(func() bool { return !echoOn(t, tty) }) {
			t.Errorf("the command read the terminal with echo on")
		}
		if _, err := io.WriteString(ptmx, l.line+"\n"); err != nil {
			t.Fatal(err)
		}
		// Wait until the command has read the line (the terminal's input
		// queue is empty) before typing the next.
		waitFor(func() bool {
			n, err := unix.IoctlGetInt(int(tty.Fd()), unix.TIOCINQ)
			return err != nil || n == 0
		})
	}
	r := <-done
	if !echoOn(t, tty) {
		t.Error("the terminal's echo was not turned back on")
	}
	tty.Close()
	var echo bytes.Buffer
	_, _ = io.Copy(&echo, ptmx) // ends with EIO once the terminal is closed
	return r.out, r.err, echo.String(), r.code
}

func TestVerifyReadsTheKeyWithoutEcho(t *testing.T) {
	h := newHarness(t)
	_, secret := h.create("Typed")
	out, errs, echoed, code := typeOnPty(t, h, secret, "keys", "verify", "--scope", "users:read")
	if code != 0 || !strings.Contains(out, "The key is valid") {
		t.Fatalf("verify from a terminal: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if !strings.Contains(errs, "Paste the key and press Enter:") {
		t.Errorf("no prompt on stderr: %q", errs)
	}
	if strings.Contains(echoed, secret) || strings.Contains(out+errs, secret) {
		t.Errorf("the key was shown: terminal echoed %q", echoed)
	}
}

func TestPasswordStdinReadsWithoutEcho(t *testing.T) {
	h := newHarness(t)
	const password = "Typed-Smtp-Pass-9"
	out, errs, echoed, code := typeOnPty(t, h, password, "mail", "set", "--host", "127.0.0.1", "--port", "2525", "--security", "none",
		"--from", "k@example.com", "--to", "a@example.com", "--username", "mailer", "--password-stdin")
	if code != 0 || !strings.Contains(out, "password for mailer is stored") {
		t.Fatalf("mail set from a terminal: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if strings.Contains(echoed, password) || strings.Contains(out+errs, password) {
		t.Errorf("the password was shown: terminal echoed %q", echoed)
	}
	if show, _, _ := h.main(nil, "mail", "show"); !strings.Contains(show, "password stored in the OS keyring") {
		t.Errorf("mail show after a typed password: %q", show)
	}
}
