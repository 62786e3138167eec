package cli

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra/doc"
)

// complete asks the command line for completions the way the shell
// scripts do (keydesk __complete ARGS... WORD) and returns the candidates.
func (h *harness) complete(args ...string) []string {
	h.t.Helper()
	out, errs, code := h.main(nil, append([]string{"__complete"}, args...)...)
	if code != 0 {
		h.t.Fatalf("__complete %v: exit %d %s", args, code, errs)
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l != "" && !strings.HasPrefix(l, ":") {
			got = append(got, l)
		}
	}
	return got
}

func TestCompletionOfKeyIDsAndOperations(t *testing.T) {
	h := newHarness(t)
	// No data folder yet: nothing offered, and none created.
	if got := h.complete("keys", "delete", ""); len(got) != 0 {
		t.Errorf("completion without a data folder offered %q", got)
	}
	if _, err := os.Stat(h.dir); !os.IsNotExist(err) {
		t.Fatalf("completion created the data folder (stat: %v)", err)
	}
	a, _ := h.create("CRM sync")
	b, _ := h.create("Billing export")
	for _, cmd := range [][]string{{"keys", "delete"}, {"keys", "rename"}} {
		got := h.complete(append(cmd, "")...)
		want := []string{a + "\tCRM sync", b + "\tBilling export"}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%v: completions %q, want %q", cmd, got, want)
		}
	}
	if got := h.complete("keys", "delete", a[:3]); !slices.Contains(got, a+"\tCRM sync") {
		t.Errorf("prefix %q: %q", a[:3], got)
	}
	if got := h.complete("keys", "rename", a, ""); len(got) != 0 {
		t.Errorf("the new name was completed with %q", got)
	}

	ops := h.complete("keys", "create", "--op", "messaging.channels.")
	if !slices.ContainsFunc(ops, func(s string) bool { return strings.HasPrefix(s, "messaging.channels.list\t") }) {
		t.Errorf("--op completions %q lack messaging.channels.list with its summary", ops)
	}
	for _, o := range ops {
		if !strings.HasPrefix(o, "messaging.channels.") {
			t.Errorf("--op completion %q does not match the prefix", o)
		}
	}
	if got := h.complete("keys", "verify", "--op", "users.li"); !slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, "users.list\t") }) {
		t.Errorf("verify --op completions %q", got)
	}
	if got := h.complete("keys", "create", "--section", "users="); !slices.Equal(got, []string{"users=read\tUsers API", "users=full\tUsers API"}) && len(got) != 2 {
		t.Errorf("--section completions %q", got)
	}
	if got := h.complete("keys", "verify", "--scope", "users:r"); !slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, "users:read\t") }) {
		t.Errorf("--scope completions %q", got)
	}
}

func TestCompletionScripts(t *testing.T) {
	h := newHarness(t)
	for shell, marker := range map[string]string{
		"bash": "__start_keydesk", "zsh": "#compdef keydesk", "fish": "complete -c keydesk", "powershell": "Register-ArgumentCompleter",
	} {
		out, errs, code := h.main(nil, "completion", shell)
		if code != 0 || !strings.Contains(out, marker) || errs != "" {
			t.Errorf("completion %s: exit %d, %d bytes without %q, stderr %q", shell, code, len(out), marker, errs)
		}
	}
	if _, errs, code := h.main(nil, "completion", "tcsh"); code != ExitUsage {
		t.Errorf("completion tcsh: exit %d %s, want 2", code, errs)
	}
}

// Every command has a man page, generated from the same tree as the help.
func TestManPages(t *testing.T) {
	dir := t.TempDir()
	root := NewCommand(&Env{})
	if err := doc.GenManTree(root, &doc.GenManHeader{Title: "KEYDESK", Section: "1"}, dir); err != nil {
		t.Fatal(err)
	}
	for _, page := range []string{"keydesk.1", "keydesk-keys-create.1", "keydesk-keys-verify.1", "keydesk-mail-set.1", "keydesk-digest-send.1", "keydesk-serve.1"} {
		b, err := os.ReadFile(filepath.Join(dir, page))
		if err != nil {
			t.Errorf("no man page %s: %v", page, err)
			continue
		}
		if !strings.Contains(string(b), ".SH SYNOPSIS") || !strings.Contains(string(b), "--data") {
			t.Errorf("%s lacks its synopsis or the global flags", page)
		}
	}
}
