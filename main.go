// Command keydesk issues and manages Company API Keys: with no subcommand it
// opens the desktop window, otherwise it runs the command line (keydesk
// --help lists the commands).
package main

import (
	_ "embed"
	"os"

	"github.com/keydesk/keydesk/cli"
	"github.com/keydesk/keydesk/gui"
	"github.com/keydesk/keydesk/internal/sessionbus"
	"github.com/keydesk/keydesk/workspace"
)

// fyneApp is the app's metadata (name, id, version), also read by fyne
// package.
//
//go:embed FyneApp.toml
var fyneApp []byte

func main() {
	// Without a session bus the keyring library would launch one that
	// outlives Keydesk: the keyring is then unavailable instead.
	sessionbus.NoAutolaunch()
	attachConsole(os.Args[1:])
	version := cli.AppVersion(fyneApp)
	if version != "" {
		// Backups record the version --version prints: FyneApp.toml's.
		workspace.Version = version
	}
	env := &cli.Env{
		Stdin:      os.Stdin,
		Stdout:     os.Stdout,
		Stderr:     os.Stderr,
		Getenv:     os.Getenv,
		Terminal:   cli.FileTerminal(os.Stdin),
		OpenWindow: gui.Run,
		Version:    version,
	}
	os.Exit(cli.Main(os.Args[1:], env))
}
