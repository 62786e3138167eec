package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/keydesk/keydesk/workspace"
)

const backupUsage = "keydesk backup --out FILE [--passphrase-stdin]"

// newBackupCommand is `keydesk backup`.
func newBackupCommand(env *Env) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "backup --out FILE [--passphrase-stdin]",
		Short: "Write an encrypted backup of the store, its signing key and the SMTP password",
		Long: "Write one encrypted file holding a consistent copy of the store, its signing key and the\n" +
			"SMTP password, protected by a passphrase of at least 12 characters (asked twice on a\n" +
			"terminal; one line of standard input with --passphrase-stdin). The file is an age file\n" +
			"(age -d opens it; see the README for what is inside). Restore it with keydesk restore.",
		Example: `  keydesk backup --out ~/keydesk-2026-11-30.kdbackup
  keydesk backup --out /mnt/usb/keydesk.kdbackup --passphrase-stdin < passphrase.txt`,
		Args:              noArgs(backupUsage),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(*cobra.Command, []string) error {
			return runBackup(env, out)
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "write the backup to `FILE` (its folder must exist)")
	_ = cmd.MarkFlagFilename("out")
	return cmd
}

func runBackup(env *Env, out string) error {
	if out == "" {
		return usagef("name the backup file with --out (usage: %s)", backupUsage)
	}
	if env.Demo {
		return usagef("the demo store is thrown away; there is nothing to back up")
	}
	if env.StoreURL != "" {
		return usagef("backup copies a data folder; back up a shared store with PostgreSQL's own tools (pg_dump) and its signing material with keydesk credential export")
	}
	if fi, err := os.Stat(filepath.Dir(out)); err != nil || !fi.IsDir() {
		return usagef("the folder %s does not exist; create it first or choose another --out", filepath.Dir(out))
	}
	if fi, err := os.Stat(out); err == nil && fi.IsDir() {
		return usagef("--out %s is a folder; name a file", out)
	}
	pass, err := env.newPassphrase("the backup")
	if err != nil {
		return err
	}
	return withWorkspace(env, func(b *workspace.Workspace) error {
		info, err := b.Backup(env.context(), out, pass)
		if err != nil {
			return asBadInput(err)
		}
		fmt.Fprintf(env.Stdout, "Backed up %d keys to %s (encrypted, taken %s).\n", info.KeyCount, info.Path, info.TakenAt.UTC().Format("2006-01-02 15:04 UTC"))
		fmt.Fprintln(env.Stdout, "Keep the passphrase safe: without it the backup cannot be opened. Restore it with keydesk restore.")
		return nil
	})
}
