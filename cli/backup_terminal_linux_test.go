package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const termPass = "typed passphrase 42"

func TestBackupAsksTwiceWithoutEcho(t *testing.T) {
	h := newHarness(t)
	h.create("Kept")
	file := filepath.Join(t.TempDir(), "b.kdbackup")
	out, errs, echoed, code := typeLinesOnPty(t, h, []typed{{termPass, true}, {termPass, true}}, "backup", "--out", file)
	if code != 0 || !strings.Contains(out, "Backed up 1 keys") {
		t.Fatalf("backup from a terminal: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if strings.Count(errs, "assphrase") < 2 {
		t.Errorf("want two prompts on stderr: %q", errs)
	}
	if strings.Contains(echoed, termPass) || strings.Contains(out+errs, termPass) {
		t.Errorf("the passphrase was shown: terminal echoed %q", echoed)
	}
	if _, err := os.Stat(file); err != nil {
		t.Error(err)
	}
}

func TestBackupTwoPassphrasesDiffer(t *testing.T) {
	h := newHarness(t)
	h.create("Kept")
	dir := t.TempDir()
	file := filepath.Join(dir, "b.kdbackup")
	for _, tc := range []struct {
		lines []typed
		says  string
	}{
		{[]typed{{termPass, true}, {termPass + "!", true}}, "differ"},
		{[]typed{{"too short", true}}, "at least 12"},
	} {
		_, errs, _, code := typeLinesOnPty(t, h, tc.lines, "backup", "--out", file)
		if code != ExitUsage || !strings.Contains(errs, tc.says) {
			t.Errorf("exit %d, stderr %q; want exit 2 saying %q", code, errs, tc.says)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("files written: %v", entries)
		}
	}
	if out, _, _ := h.main(strings.NewReader(""), "audit"); strings.Contains(out, "store.backup") {
		t.Error("a refused backup was recorded")
	}
}

// On a terminal, restore asks before bringing back deleted keys; "no"
// restores nothing.
func TestRestoreAsksOnTerminal(t *testing.T) {
	h := newHarness(t)
	h.create("Kept")
	file := filepath.Join(t.TempDir(), "b.kdbackup")
	if _, errs, code := h.main(strings.NewReader(termPass+"\n"), "--passphrase-stdin", "backup", "--out", file); code != 0 {
		t.Fatalf("backup: %d %s", code, errs)
	}
	n := &harness{t: t, dir: filepath.Join(t.TempDir(), "new"), now: h.now}
	out, errs, echoed, code := typeLinesOnPty(t, n, []typed{{termPass, true}, {"n", false}}, "restore", file)
	if code != 0 || !strings.Contains(out, "Nothing was restored") || !strings.Contains(errs, "[y/N]") {
		t.Errorf("restore answered no: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if strings.Contains(echoed, termPass) {
		t.Error("the passphrase was echoed")
	}
	if _, err := os.Stat(n.dir); !os.IsNotExist(err) {
		t.Errorf("a declined restore left the folder (%v)", err)
	}
	out, errs, _, code = typeLinesOnPty(t, n, []typed{{termPass, true}, {"y", false}}, "restore", file)
	if code != 0 || !strings.Contains(out, "Restored 1 key (0 expired)") {
		t.Errorf("restore answered yes: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if n.count() != 1 {
		t.Error("the restored folder does not list the key")
	}
}
