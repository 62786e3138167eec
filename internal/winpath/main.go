package winpath

import (
	"errors"
	"fmt"
	"io"
)

// Registry reads and writes the user's Path value (HKCU\Environment).
type Registry interface {
	// Read returns the value as stored; a missing value is Value{}.
	Read() (Value, error)
	// Write stores v, or deletes the value when v.Exists is false.
	Write(v Value) error
	// Expand replaces %VARIABLES% as Windows does (for comparing entries).
	Expand(s string) string
}

// Exit statuses of Main, which the NSIS script tests.
const (
	// ExitChanged: the folder was added to, or removed from, the PATH.
	ExitChanged = 0
	// ExitUsage: the command line was wrong.
	ExitUsage = 2
	// ExitCreated: there was no PATH; it was created holding the folder.
	ExitCreated = 10
	// ExitUnchanged: nothing to do (already there, or not there).
	ExitUnchanged = 11
	// ExitRefused: the PATH was left as it was; the sentence says why.
	ExitRefused = 12
)

// reasons is why the PATH was left as it was, for each error (the first
// match wins): the words end "Your PATH was left as it was because ...".
var reasons = []struct {
	err  error
	text string
}{
	{ErrNotString, "its registry value is not text (REG_SZ or REG_EXPAND_SZ)"},
	{ErrMalformed, "its registry value is not well-formed text"},
	{ErrTooLong, "it is, or with the folder added would be, longer than the 32,767 characters Windows allows"},
	{ErrBadFolder, `the folder is not a full path, or holds a ";" or a quote`},
	{ErrChanged, "another program changed it at the same moment"},
	{ErrUnsupported, "this is not Windows"},
}

func reason(err error) string {
	for _, r := range reasons {
		if errors.Is(err, r.err) {
			return r.text
		}
	}
	return fmt.Sprintf("it could not be read or written (%v)", err)
}

// reports is, for each outcome of Add and Remove, the sentence Main prints
// (with the folder) and the exit status it returns.
var reports = map[Outcome]struct {
	sentence string
	exit     int
}{
	Added:   {"Added %s to your PATH.\n", ExitChanged},
	Created: {"Added %s to your PATH.\n", ExitCreated},
	Present: {"%s is already on your PATH.\n", ExitUnchanged},
	Removed: {"Removed %s from your PATH.\n", ExitChanged},
	Deleted: {"Removed %s from your PATH.\n", ExitChanged},
	Absent:  {"%s is not on your PATH; it was left as it was.\n", ExitUnchanged},
}

const usage = "usage: winpath add FOLDER | winpath remove [--created] FOLDER"

// Main runs `winpath add FOLDER` or `winpath remove [--created] FOLDER`
// on reg, prints one sentence saying what it did to stdout and returns the
// exit status (ExitChanged, ExitCreated, ExitUnchanged, ExitRefused or
// ExitUsage). --created says the installer created the value, so that
// removing the folder deletes it again when nothing else is left.
func Main(args []string, stdout io.Writer, reg Registry) int {
	var add, created bool
	switch {
	case len(args) == 2 && args[0] == "add":
		add = true
	case len(args) == 2 && args[0] == "remove":
	case len(args) == 3 && args[0] == "remove" && args[1] == "--created":
		created = true
	default:
		fmt.Fprintln(stdout, usage)
		return ExitUsage
	}
	dir := args[len(args)-1]
	refuse := func(err error) int {
		if add {
			fmt.Fprintf(stdout, "Your PATH was left as it was because %s; add %s to it yourself to run keydesk from a command prompt.\n", reason(err), dir)
		} else {
			fmt.Fprintf(stdout, "Your PATH was left as it was because %s; remove %s from it yourself.\n", reason(err), dir)
		}
		return ExitRefused
	}

	old, err := reg.Read()
	if err != nil {
		return refuse(err)
	}
	var nv Value
	var outcome Outcome
	if add {
		nv, outcome, err = Add(old, dir, reg.Expand)
	} else {
		nv, outcome, err = Remove(old, dir, created, reg.Expand)
	}
	if err != nil {
		return refuse(err)
	}
	report := func() int {
		r := reports[outcome]
		fmt.Fprintf(stdout, r.sentence, dir)
		return r.exit
	}
	if reports[outcome].exit == ExitUnchanged {
		return report()
	}
	// Check once more just before writing: another program may have
	// changed the value since it was read (the registry has no
	// transactions for this; the window left is the write itself).
	if now, err := reg.Read(); err != nil {
		return refuse(err)
	} else if !now.Equal(old) {
		return refuse(ErrChanged)
	}
	if err := reg.Write(nv); err != nil {
		return refuse(err)
	}
	if back, err := reg.Read(); err != nil || !back.Equal(nv) {
		if err == nil {
			err = ErrChanged
		}
		fmt.Fprintf(stdout, "Your PATH could not be checked after it was written, because %s: check it in the Environment Variables settings.\n", reason(err))
		return ExitRefused
	}
	return report()
}
