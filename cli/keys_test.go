package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/keydesk/keydesk/core"
)

// These in-process tests are about the command line, not the keyring, so
// they use go-keyring's in-memory mock; the end-to-end tests in
// e2e_test.go run the real binary against a real Secret Service.

// harness runs cli.Main in-process on one data folder at a fixed time.
type harness struct {
	t   *testing.T
	dir string
	now time.Time
	// term is standard input's terminal, nil for none.
	term Terminal
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	keyring.MockInit()
	return &harness{t: t, dir: filepath.Join(t.TempDir(), "data"), now: time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)}
}

func (h *harness) main(stdin io.Reader, args ...string) (stdout, stderr string, code int) {
	h.t.Helper()
	var out, errb bytes.Buffer
	env := &Env{Stdin: stdin, Stdout: &out, Stderr: &errb, Getenv: allowNow, Terminal: h.term}
	code = Main(append([]string{"--data", h.dir, "--now", h.now.Format(time.RFC3339)}, args...), env)
	return out.String(), errb.String(), code
}

func (h *harness) create(name string) (id, secret string) {
	h.t.Helper()
	out, errs, code := h.main(strings.NewReader(""), "keys", "create", "--name", name, "--section", "users=read", "--json")
	if code != 0 {
		h.t.Fatalf("create: exit %d %s", code, errs)
	}
	var k struct{ ID, Key string }
	if err := json.Unmarshal([]byte(out), &k); err != nil {
		h.t.Fatal(err)
	}
	return k.ID, k.Key
}

func (h *harness) count() int {
	h.t.Helper()
	out, errs, code := h.main(strings.NewReader(""), "keys", "list", "--json")
	if code != 0 {
		h.t.Fatalf("list: exit %d %s", code, errs)
	}
	var ks []map[string]any
	if err := json.Unmarshal([]byte(out), &ks); err != nil {
		h.t.Fatal(err)
	}
	return len(ks)
}

// allowNow is the environment of the in-process tests: --now is allowed.
func allowNow(name string) string {
	if name == AllowNowEnv {
		return "1"
	}
	return ""
}

// lineTerminal is a Terminal whose secrets are the lines of r (the echo is
// the real terminal's business, tested with a pty in terminal_test.go).
type lineTerminal struct{ r *bufio.Reader }

func (lineTerminal) IsTerminal() bool { return true }

func (l lineTerminal) ReadSecret() (string, error) {
	s, err := l.r.ReadString('\n')
	return strings.TrimRight(s, "\r\n"), err
}

func TestDeleteAsksOnATerminal(t *testing.T) {
	tests := []struct {
		answer  string
		deleted bool
		code    int
		stdout  string
	}{
		{"y\n", true, 0, "Deleted key"},
		{"YES\n", true, 0, "Deleted key"},
		{"n\n", false, 0, "nothing was deleted"},
		{"\n", false, 0, "nothing was deleted"},
		{"maybe\n", false, 0, "nothing was deleted"},
		{"", false, 2, ""}, // end of input: no answer, refuse as without a terminal
	}
	for _, tc := range tests {
		t.Run(strings.TrimSpace(tc.answer), func(t *testing.T) {
			h := newHarness(t)
			h.term = lineTerminal{}
			id, _ := h.create("Prompted")
			out, errs, code := h.main(strings.NewReader(tc.answer), "keys", "delete", id)
			if !strings.Contains(errs, `Delete key "Prompted" (`+id+`)? [y/N]`) {
				t.Errorf("no confirmation question on stderr: %q", errs)
			}
			if code != tc.code || !strings.Contains(out, tc.stdout) {
				t.Errorf("exit %d stdout %q, want exit %d and %q", code, out, tc.code, tc.stdout)
			}
			if got := h.count() == 0; got != tc.deleted {
				t.Errorf("deleted = %v, want %v", got, tc.deleted)
			}
		})
	}
}

func TestDeleteWithoutTerminalNeedsYes(t *testing.T) {
	h := newHarness(t)
	id, _ := h.create("Scripted")
	_, errs, code := h.main(strings.NewReader("y\n"), "keys", "delete", id)
	if code != ExitUsage || !strings.Contains(errs, "pass --yes") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	if h.count() != 1 {
		t.Fatal("the key was deleted without confirmation")
	}
	if _, errs, code := h.main(nil, "keys", "delete", id, "--yes"); code != 0 || h.count() != 0 {
		t.Fatalf("delete --yes: exit %d %s", code, errs)
	}
}

func TestVerifyReadsFirstLineOnly(t *testing.T) {
	h := newHarness(t)
	_, secret := h.create("Reader")
	tests := []struct {
		stdin string
		code  int
	}{
		{secret, 0},
		{secret + "\r\n", 0},
		{"\t" + secret + "  \nsomething else", 0},
		{"\n" + secret, ExitUsage}, // the first line is empty
		{"", ExitUsage},
		{secret[:20] + "\n" + secret[20:], ExitFailed},
	}
	for i, tc := range tests {
		_, errs, code := h.main(strings.NewReader(tc.stdin), "keys", "verify", "--scope", "users:read")
		if code != tc.code {
			t.Errorf("case %d: exit %d (%s), want %d", i, code, errs, tc.code)
		}
		if strings.Contains(errs, secret) {
			t.Errorf("case %d: the secret was echoed on stderr", i)
		}
	}
}

// Flags go before or after the positional arguments; everything after
// "--" is positional; -h prints the usage (exit 0); an unknown flag is bad
// usage (exit 2).
func TestFlagsInterspersed(t *testing.T) {
	h := newHarness(t)
	a, _ := h.create("First")
	if out, errs, code := h.main(nil, "keys", "rename", a, "--", "--json"); code != 0 || !strings.Contains(out, `to "--json"`) {
		t.Errorf("rename ID -- --json: exit %d, %q %q; want the name --json", code, out, errs)
	}
	if out, errs, code := h.main(nil, "--json", "keys", "rename", a, "x"); code != ExitUsage || out != "" || !strings.Contains(errs, "lag provided but not defined") {
		t.Errorf("unknown global flag: exit %d, %q %q", code, out, errs)
	}
	if _, errs, code := h.main(nil, "keys", "delete", "--yes", a); code != 0 || h.count() != 0 {
		t.Errorf("delete --yes ID: exit %d %s", code, errs)
	}
	b, _ := h.create("Second")
	if _, errs, code := h.main(nil, "keys", "delete", b, "--yes"); code != 0 || h.count() != 0 {
		t.Errorf("delete ID --yes: exit %d %s", code, errs)
	}
	for _, help := range [][]string{{"keys", "delete", "-h"}, {"help", "keys", "delete"}, {"keys", "delete", "--help"}} {
		out, errs, code := h.main(nil, help...)
		if code != 0 || !strings.Contains(out, "Usage:") || !strings.Contains(out, "keydesk keys delete ID") || !strings.Contains(out, "--yes") || errs != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", help, code, out, errs)
		}
	}
	var ue *UsageError
	root := NewCommand(&Env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard, Getenv: allowNow})
	root.SetArgs([]string{"keys", "list", "--nope"})
	if err := root.Execute(); !errors.As(err, &ue) {
		t.Errorf("unknown flag: %v, want a UsageError", err)
	}
}

func TestCreateRequest(t *testing.T) {
	tests := []struct {
		name, expires    string
		global           bool
		sections, ops    []string
		kind             core.PermissionKind
		wantErr, errText string
	}{
		{name: "a", global: true, kind: core.KindGlobal},
		{name: "a", sections: []string{"users=read", "pbx=FULL", "users=read"}, kind: core.KindSections},
		{name: "a", ops: []string{"users.list"}, kind: core.KindOperations},
		{name: "a", expires: "36h", global: true, kind: core.KindGlobal},
		{name: "", global: true, wantErr: "usage", errText: "--name"},
		{name: "a", expires: "1w", global: true, wantErr: "usage", errText: "duration such as"},
		{name: "a", wantErr: "usage", errText: "--global, --section"},
		{name: "a", global: true, ops: []string{"x"}, wantErr: "usage", errText: "exactly one kind"},
		{name: "a", sections: []string{"users"}, wantErr: "usage", errText: "ID=read or ID=full"},
		{name: "a", sections: []string{"users=read", "users=full"}, wantErr: "usage", errText: "given twice"},
		{name: "a", ops: []string{" "}, wantErr: "usage", errText: "operation id"},
	}
	for i, tc := range tests {
		req, err := createRequest(tc.name, tc.expires, tc.global, tc.sections, tc.ops)
		var ue *UsageError
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("case %d: %v", i, err)
		case tc.wantErr != "" && (!errors.As(err, &ue) || !strings.Contains(err.Error(), tc.errText)):
			t.Errorf("case %d: error %v, want a usage error containing %q", i, err, tc.errText)
		case tc.wantErr == "" && req.Permissions.Kind != tc.kind:
			t.Errorf("case %d: kind %q, want %q", i, req.Permissions.Kind, tc.kind)
		}
	}
	req, _ := createRequest("a", "", false, []string{"pbx=FULL"}, nil)
	if req.Permissions.Sections["pbx"] != core.AccessFull {
		t.Errorf("sections = %v", req.Permissions.Sections)
	}
}

func TestAsInput(t *testing.T) {
	var ue *UsageError
	for _, err := range inputErrors {
		if !errors.As(asInput(errors.Join(errors.New("context"), err)), &ue) {
			t.Errorf("%v is not reported as bad input", err)
		}
	}
	other := errors.New("disk full")
	if asInput(other) != other || asInput(nil) != nil {
		t.Error("asInput changed an operation failure")
	}
}

func TestVerifyMessageNeverHoldsSecret(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	k := &core.Key{ID: "abc", Name: "N", Scopes: []string{"users:read"}, ExpiresAt: now.Add(-time.Hour)}
	tests := []struct {
		v    core.Verification
		want string
	}{
		{core.Verification{Reason: core.ReasonMalformed}, "not a Keydesk key"},
		{core.Verification{Reason: core.ReasonExpired, Key: k}, `"N" (abc) expired 1 hour ago`},
		{core.Verification{Reason: core.ReasonForbidden, Valid: true, Key: k}, "do not allow scope x:y"},
		{core.Verification{Reason: core.ReasonTampered, Key: k}, "was altered"},
		{core.Verification{Reason: core.ReasonOK, Valid: true, Allowed: true, Key: k}, "allows scope x:y"},
	}
	for _, tc := range tests {
		if got := verifyMessage(tc.v, "scope x:y", now); !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q lacks %q", tc.v.Reason, got, tc.want)
		}
	}
}

func TestAuditInProcess(t *testing.T) {
	h := newHarness(t)
	out, _, code := h.main(nil, "audit")
	if code != 0 || !strings.Contains(out, "audit log is empty") {
		t.Fatalf("empty audit: exit %d %q", code, out)
	}
	id, secret := h.create("Audited")
	h.main(nil, "keys", "rename", id, "Audited twice")
	out, _, code = h.main(nil, "audit")
	if code != 0 || strings.Index(out, "key.rename") > strings.Index(out, "key.create") || strings.Contains(out, secret) {
		t.Fatalf("audit (newest first, no secret):\n%s", out)
	}
	if !strings.Contains(out, `"Audited twice" (`+id+`)`) || !strings.Contains(out, h.now.Local().Format("2006-01-02 15:04")) {
		t.Errorf("audit lacks the key or the local time:\n%s", out)
	}
}

// --now changes the clock of every rule and audit entry: on a real data
// folder it is refused unless the environment allows it (the tests do).
func TestNowNeedsDemoOrTestEnvironment(t *testing.T) {
	h := newHarness(t)
	run := func(getenv func(string) string, args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		code := Main(args, &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: getenv})
		return out.String(), errb.String(), code
	}
	noEnv := func(string) string { return "" }
	_, errs, code := run(noEnv, "--data", h.dir, "--now", "2200-01-01T00:00:00Z", "keys", "create", "--name", "Forever", "--global")
	if code != ExitUsage || strings.Count(strings.TrimSpace(errs), "\n") != 0 || !strings.Contains(errs, "--demo") {
		t.Fatalf("--now on a data folder: exit %d, stderr %q; want exit 2 and one sentence", code, errs)
	}
	if _, err := os.Stat(h.dir); !os.IsNotExist(err) {
		t.Fatalf("the refused run touched the data folder (stat: %v)", err)
	}
	if _, errs, code := run(noEnv, "--demo", "--now", "2200-01-01T00:00:00Z", "keys", "list"); code != 0 {
		t.Errorf("--now with --demo: exit %d %s", code, errs)
	}
	if _, errs, code := run(allowNow, "--data", h.dir, "--now", "2200-01-01T00:00:00Z", "keys", "list"); code != 0 {
		t.Errorf("--now with %s=1: exit %d %s", AllowNowEnv, code, errs)
	}
}

// An argument where none belongs is bad usage, named in one sentence.
func TestPositionalArgumentsRefused(t *testing.T) {
	h := newHarness(t)
	for _, args := range [][]string{
		{"launch"}, {"keys", "create", "--name", "x", "--global", "extra"}, {"keys", "list", "extra"},
		{"keys", "verify", "extra"}, {"keys", "rename", "only-id"}, {"keys", "delete"}, {"keys", "nope"},
		{"catalog", "extra"}, {"audit", "extra"}, {"digest", "preview", "extra"}, {"digest", "send", "extra"},
		{"digest"}, {"mail", "show", "extra"}, {"mail", "test", "extra"}, {"mail", "nope"}, {"serve", "extra"},
		{"completion", "tcsh"},
	} {
		out, errs, code := h.main(strings.NewReader(""), args...)
		lines := strings.Split(strings.TrimRight(errs, "\n"), "\n")
		if code != ExitUsage || out != "" || len(lines) != 1 || !strings.HasPrefix(lines[0], "keydesk: ") || strings.Contains(errs, "%!") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and one sentence", args, code, out, errs)
		}
	}
}
