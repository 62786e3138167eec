package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/keydesk/keydesk/envelope"
	"github.com/keydesk/keydesk/workspace"
)

// PassphraseFileEnv names a file whose first line is the key file's
// passphrase (for scripts and services using --keyfile).
const PassphraseFileEnv = "KEYDESK_PASSPHRASE_FILE"

// maxPassphraseLine bounds a passphrase line read from stdin or a file.
const maxPassphraseLine = 4096

// readLine reads one line from r a byte at a time (so that whatever
// follows stays in r for the next reader), without its line end.
func readLine(r io.Reader) (string, error) {
	var b []byte
	var one [1]byte
	for len(b) < maxPassphraseLine {
		n, err := r.Read(one[:])
		if n == 1 {
			if one[0] == '\n' {
				break
			}
			b = append(b, one[0])
			continue
		}
		if err == io.EOF {
			break
		} else if err != nil {
			return "", fmt.Errorf("read standard input: %w", err)
		}
	}
	return strings.TrimSuffix(string(b), "\r"), nil
}

// newPassphrase reads a passphrase that is about to protect something
// (a backup, a new key file): one line of stdin with --passphrase-stdin,
// else asked twice on the terminal without echo. Too short, easy to guess
// (envelope.CheckNewPassphrase), or two that differ, is bad input.
func (e *Env) newPassphrase(what string) (string, error) {
	var p string
	switch {
	case e.PassphraseStdin:
		var err error
		if p, err = readLine(e.Stdin); err != nil {
			return "", err
		}
	case e.isTerminal():
		var err error
		if p, err = e.readSecret(fmt.Sprintf("Passphrase for %s (at least %d characters): ", what, envelope.MinPassphrase)); err != nil {
			return "", err
		}
		if err := envelope.CheckNewPassphrase(p); err != nil {
			return "", asBadInput(err)
		}
		again, err := e.readSecret("The same passphrase again: ")
		if err != nil {
			return "", err
		}
		if again != p {
			return "", usagef("the two passphrases differ; nothing was written")
		}
	default:
		return "", usagef("%s needs a passphrase: type it on a terminal, or pipe it in with --passphrase-stdin", what)
	}
	if err := envelope.CheckNewPassphrase(p); err != nil {
		return "", asBadInput(err)
	}
	return p, nil
}

// existingPassphrase reads the passphrase of something that exists (a
// backup): one line of stdin with --passphrase-stdin, else asked once on
// the terminal.
func (e *Env) existingPassphrase(what string) (string, error) {
	switch {
	case e.PassphraseStdin:
		return readLine(e.Stdin)
	case e.isTerminal():
		return e.readSecret(fmt.Sprintf("Passphrase of %s: ", what))
	}
	return "", usagef("%s needs its passphrase: type it on a terminal, or pipe it in with --passphrase-stdin", what)
}

// passphraseFromFile returns the first line of the file named by
// KEYDESK_PASSPHRASE_FILE, ok false when it is unset.
func (e *Env) passphraseFromFile() (p string, ok bool, err error) {
	name := e.Getenv(PassphraseFileEnv)
	if name == "" {
		return "", false, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return "", true, usagef("cannot read the passphrase file named by %s: %v", PassphraseFileEnv, errors.Unwrap(err))
	}
	defer f.Close()
	p, err = readLine(f)
	return p, true, err
}

// readKeyFilePassphrase reads, for --keyfile --passphrase-stdin without
// KEYDESK_PASSPHRASE_FILE, the key file's passphrase from the first line of
// standard input, before the command reads its own input there (a key to
// verify, a backup's passphrase). restore reads none: its key file takes the
// backup's passphrase.
func (e *Env) readKeyFilePassphrase(command string) error {
	e.keyFilePass = nil
	if !e.KeyFile || !e.PassphraseStdin || e.Demo || e.Getenv(PassphraseFileEnv) != "" {
		return nil
	}
	switch command {
	case "restore", "catalog", "completion", "help", "__complete", "__completeNoDesc":
		return nil
	}
	p, err := readLine(e.Stdin)
	if err != nil {
		return err
	}
	e.keyFilePass = &p
	return nil
}

// keyFilePassphrase is workspace.Options.Passphrase for --keyfile: the
// file named by KEYDESK_PASSPHRASE_FILE, else the first line of stdin with
// --passphrase-stdin, else the terminal (twice for a new key file).
func (e *Env) keyFilePassphrase(create bool) (string, error) {
	p, ok, err := e.passphraseFromFile()
	if err != nil {
		return "", err
	}
	if !ok && e.keyFilePass != nil {
		p, ok = *e.keyFilePass, true
	}
	if !ok {
		if !e.PassphraseStdin && !e.isTerminal() {
			return "", workspace.ErrNoPassphrase
		}
		if create {
			return e.newPassphrase("the new key file keydesk.key")
		}
		return e.existingPassphrase("the key file keydesk.key")
	}
	if create {
		if err := envelope.CheckNewPassphrase(p); err != nil {
			return "", asBadInput(err)
		}
	}
	return p, nil
}

// badInputErrors are the errors of backups, restores and key files that
// are the input's fault: exit status 2, with workspace.Advice's sentence.
var badInputErrors = []error{
	envelope.ErrWrongPassphrase, envelope.ErrShortPassphrase, envelope.ErrDamaged, envelope.ErrNotEnvelope, envelope.ErrTooNew,
	envelope.ErrUnsafe, envelope.ErrWorkFactor, envelope.ErrWeakPassphrase, workspace.ErrStoreExists, workspace.ErrBadBackup, workspace.ErrNoFolder, workspace.ErrKeyFileFolder,
	workspace.ErrNotKeyFileFolder, workspace.ErrNoPassphrase, workspace.ErrNoKeyFile,
}

// asBadInput turns an error that is the input's fault into a UsageError
// carrying its advice; other errors pass unchanged.
func asBadInput(err error) error {
	if err == nil {
		return nil
	}
	for _, b := range badInputErrors {
		if errors.Is(err, b) {
			return &UsageError{Msg: workspace.Advice(err)}
		}
	}
	return err
}
