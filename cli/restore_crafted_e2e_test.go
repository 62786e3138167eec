package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keydesk/keydesk/envelope"
	"github.com/keydesk/keydesk/internal/envelopetest"
	"github.com/keydesk/keydesk/internal/foldertest"
)

// The attack of issue #18: a file of a few kilobytes, made with `age -p`,
// holding tar entries that claim gigabytes. restore and credential import
// refuse it in one sentence (exit 2) and write nothing: a sparse
// master.key claiming 1 GiB was read into memory whole before, and a sparse
// store copy written into the data folder whole. (The memory bound is
// measured in-process: workspace's and credential's tests.)
func TestCraftedFilesAreRefusedByTheBinary(t *testing.T) {
	const gig = 1 << 30
	noBus := "DBUS_SESSION_BUS_ADDRESS=unix:path=" + filepath.Join(t.TempDir(), "no-bus")
	tmp := t.TempDir()
	write := func(name string, b []byte) string {
		if len(b) > 64<<10 {
			t.Fatalf("%s: the crafted file has %d bytes", name, len(b))
		}
		return foldertest.WriteFile(t, tmp, name, b)
	}
	backup := func(name string, logN int, files []envelopetest.FileInfo, entries ...envelopetest.Entry) string {
		m := envelopetest.Manifest("backup", map[string]any{"storeId": "s1", "keyCount": 1, "generation": 3}, files...)
		return write(name, envelopetest.Encrypt(t, envelopetest.Tar(append([]envelopetest.Entry{m}, entries...)...), e2ePass, logN))
	}
	key := envelopetest.FileInfo{Name: "master.key", Size: 32}
	sparseKey := backup("sparse-key.kdbackup", envelope.DefaultWorkFactor,
		[]envelopetest.FileInfo{{Name: "keydesk.db", Size: 0}, {Name: "master.key", Size: gig}},
		envelopetest.File("keydesk.db", nil), envelopetest.Sparse("master.key", gig))
	sparseDB := backup("sparse-db.kdbackup", envelope.DefaultWorkFactor,
		[]envelopetest.FileInfo{{Name: "keydesk.db", Size: 4 * gig}, key},
		envelopetest.Sparse("keydesk.db", 4*gig), envelopetest.File("master.key", make([]byte, 32)))
	cheap := backup("cheap.kdbackup", 10, []envelopetest.FileInfo{{Name: "keydesk.db", Size: 1}, key},
		envelopetest.File("keydesk.db", []byte("x")), envelopetest.File("master.key", make([]byte, 32)))
	cm := envelopetest.Manifest("credential", map[string]any{"storeId": "s1"}, envelopetest.FileInfo{Name: "credential.json", Size: gig})
	sparseCred := write("sparse.credential", envelopetest.Encrypt(t, envelopetest.Tar(cm, envelopetest.Sparse("credential.json", gig)), e2ePass, envelope.DefaultWorkFactor))

	for _, tc := range []struct {
		name string
		args []string
		says string
	}{
		{"restore: sparse master.key of 1 GiB", []string{"restore", sparseKey, "--passphrase-stdin"}, "never writes"},
		{"restore: sparse store copy of 4 GiB", []string{"restore", sparseDB, "--passphrase-stdin"}, "never writes"},
		{"restore: scrypt work factor 2^10", []string{"restore", cheap, "--passphrase-stdin"}, "work factor"},
		{"credential import: sparse credential of 1 GiB", []string{"credential", "import", sparseCred, "--passphrase-stdin"}, "never writes"},
		{"credential import: a device that never ends", []string{"credential", "import", "/dev/zero"}, "larger than any"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "data")
			before, beforeTmp := foldertest.State(t, parent), foldertest.State(t, tmp)
			if strings.HasPrefix(tc.args[len(tc.args)-1], "/dev/") {
				if _, err := os.Stat(tc.args[len(tc.args)-1]); err != nil {
					t.Skip("no /dev/zero here")
				}
			}
			r := run(t, e2ePass+"\n", []string{noBus}, append([]string{"--data", dir}, tc.args...)...)
			lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
			if r.code != 2 || len(lines) != 1 || !strings.HasPrefix(lines[0], "keydesk: ") || !containsFold(lines[0], tc.says) || r.stdout != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and one sentence containing %q", r.code, r.stdout, r.stderr, tc.says)
			}
			if foldertest.State(t, parent) != before || foldertest.State(t, tmp) != beforeTmp {
				t.Error("a folder changed")
			}
		})
	}
}
