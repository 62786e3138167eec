package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keydesk/keydesk/credential"
	"github.com/keydesk/keydesk/workspace"
)

const (
	credExportUsage = "keydesk --store URL credential export --out FILE [--verify-only] [--passphrase-stdin]"
	credImportUsage = "keydesk [--store URL] credential import FILE [--passphrase-stdin]"
)

// newCredentialCommand is `keydesk credential`.
func newCredentialCommand(env *Env) *cobra.Command {
	var out string
	var verifyOnly bool
	export := &cobra.Command{
		Use:   "export --out FILE [--verify-only] [--passphrase-stdin]",
		Short: "Write the shared store's signing material to a file, for another admin or for servers",
		Long: "Write the shared store's signing material (from this computer's keyring) to FILE.\n" +
			"Without --verify-only: the admin material, encrypted with a passphrase (age, scrypt; at least\n" +
			"12 characters, asked twice, or one line from stdin with --passphrase-stdin), for\n" +
			"`keydesk credential import` on another admin's computer.\n" +
			"With --verify-only: what a verification server needs and nothing that can create, widen or\n" +
			"extend a key, as JSON readable by its owner only (mode 0600), for `keydesk serve --credential`;\n" +
			"keep it in a systemd credential or a Kubernetes secret.",
		Args:              noArgs(credExportUsage),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(*cobra.Command, []string) error {
			return runCredentialExport(env, out, verifyOnly)
		},
	}
	export.Flags().StringVar(&out, "out", "", "the credential `FILE` to write (must not exist)")
	export.Flags().BoolVar(&verifyOnly, "verify-only", false, "write the verify-only credential for servers")
	_ = export.MarkFlagFilename("out")

	imp := &cobra.Command{
		Use:   "import FILE [--passphrase-stdin]",
		Short: "Put a shared store's admin material from a credential file into this computer's keyring",
		Long: "Read an admin credential written by `keydesk credential export` and put the store's signing\n" +
			"material into this computer's OS keyring, so that this computer can change the shared store's keys.\n" +
			"With --store, the credential must belong to the store in that database.",
		Args: exactArgs(1, "credential import needs the credential file: %s", credImportUsage),
		RunE: func(_ *cobra.Command, args []string) error {
			return runCredentialImport(env, args[0])
		},
	}
	return group("credential", "Move a shared store's signing material between computers", "export or import", export, imp)
}

// readPassphrase reads the passphrase: one line from stdin, or from the
// terminal (twice when confirm).
func readPassphrase(env *Env, fromStdin, confirm bool) (string, error) {
	if fromStdin {
		return readLine(env.Stdin)
	}
	if !env.isTerminal() {
		return "", usagef("no terminal to ask the passphrase on; use --passphrase-stdin")
	}
	p, err := env.readSecret("Passphrase: ")
	if err != nil || !confirm {
		return p, err
	}
	again, err := env.readSecret("Passphrase again: ")
	if err != nil {
		return "", err
	}
	if again != p {
		return "", usagef("the two passphrases differ; nothing was written")
	}
	return p, nil
}

func runCredentialExport(env *Env, out string, verifyOnly bool) error {
	if env.StoreURL == "" {
		return usagef("credential export needs the shared store: %s", credExportUsage)
	}
	if out == "" {
		return usagef("credential export needs --out FILE: %s", credExportUsage)
	}
	if _, err := os.Lstat(out); err == nil {
		return usagef("%s already exists; choose a new file name", out)
	}
	if fi, err := os.Stat(filepath.Dir(out)); err != nil || !fi.IsDir() {
		return usagef("the folder %s does not exist; create it first or choose another --out", filepath.Dir(out))
	}
	var pass string
	if !verifyOnly {
		p, err := readPassphrase(env, env.PassphraseStdin, true)
		if err != nil {
			return err
		}
		if err := credential.CheckPassphrase(p); err != nil {
			if a := workspace.Advice(err); a != "" {
				return &UsageError{Msg: a}
			}
			return &UsageError{Msg: sentence(err.Error())}
		}
		pass = p
	}
	return withWorkspace(env, func(b *workspace.Workspace) error {
		c, err := b.Credential(!verifyOnly)
		if err != nil {
			return err
		}
		data, err := credential.Encode(c, pass)
		if err != nil {
			return err
		}
		if err := writeNewFile(out, data); err != nil {
			return err
		}
		if verifyOnly {
			fmt.Fprintf(env.Stdout, "Wrote the verify-only credential of store %s to %s (mode 0600): give it to verification servers (keydesk serve --credential).\n", c.StoreID, out)
		} else {
			fmt.Fprintf(env.Stdout, "Wrote the admin credential of store %s to %s, encrypted with your passphrase: import it on another admin's computer (keydesk credential import).\n", c.StoreID, out)
		}
		return nil
	})
}

// writeNewFile writes data to a new file, mode 0600, through a temporary
// file in the same folder, so that nothing half-written is left.
func writeNewFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".keydesk-credential-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err == nil {
		_, err = tmp.Write(data)
		if err == nil {
			err = tmp.Sync()
		}
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			// Link, not rename: an existing file is never replaced.
			err = os.Link(tmp.Name(), path)
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		return nil
	}
	tmp.Close()
	return fmt.Errorf("write %s: %w", path, err)
}

// readCredentialFile reads a credential file of at most
// credential.MaxFile bytes: a larger one (or a device that never ends) is
// refused after reading one byte more.
func readCredentialFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, usagef("cannot read %s: %s", path, strings.TrimPrefix(err.Error(), "open "+path+": "))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, credential.MaxFile+1))
	if err != nil {
		return nil, usagef("cannot read %s: %s", path, strings.TrimPrefix(err.Error(), "read "+path+": "))
	}
	if len(data) > credential.MaxFile {
		return nil, usagef("%s is larger than any Keydesk credential (%d KiB at most), so it was not read", path, credential.MaxFile>>10)
	}
	return data, nil
}

func runCredentialImport(env *Env, path string) error {
	data, err := readCredentialFile(path)
	if err != nil {
		return err
	}
	var pass string
	if credential.Encrypted(data) {
		if pass, err = readPassphrase(env, env.PassphraseStdin, false); err != nil {
			return err
		}
	}
	c, err := credential.Decode(data, pass)
	if err != nil {
		if a := workspace.Advice(err); a != "" {
			return &UsageError{Msg: a}
		}
		return &UsageError{Msg: sentence(err.Error())}
	}
	if c.Kind != credential.KindAdmin {
		return usagef("%s is a verify-only credential: it cannot change keys, so it is not imported; servers use it with keydesk serve --credential", path)
	}
	if env.StoreURL != "" {
		ctx, cancel := context.WithTimeout(env.context(), workspace.SharedTimeout)
		defer cancel()
		id, err := workspace.SharedStoreID(ctx, env.StoreURL)
		if err != nil {
			return err
		}
		if id != c.StoreID {
			return usagef("%s is the credential of store %s, but the shared store holds store %s; nothing was imported", path, c.StoreID, id)
		}
	}
	if err := workspace.ImportAdminMaterial(workspace.OSKeyring(), c.StoreID, c.Master); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Imported the signing material of store %s into this computer's keyring.\n", c.StoreID)
	return nil
}
