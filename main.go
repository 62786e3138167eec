// Command keydesk issues and manages Company API Keys: with no subcommand it
// opens the desktop window, otherwise it runs the command line (keydesk
// --help lists the commands).
package main

import (
	_ "embed"
	"os"

	"github.com/keydesk/keydesk/cli"
	"github.com/keydesk/keydesk/gui"
)

// fyneApp is the app's metadata (name, id, version), also read by fyne
// package.
//
//go:embed FyneApp.toml
var fyneApp []byte

func main() {
	attachConsole(os.Args[1:])
	env := &cli.Env{
		Stdin:      os.Stdin,
		Stdout:     os.Stdout,
		Stderr:     os.Stderr,
		Getenv:     os.Getenv,
		Terminal:   cli.FileTerminal(os.Stdin),
		OpenWindow: gui.Run,
		Version:    cli.AppVersion(fyneApp),
	}
	os.Exit(cli.Main(os.Args[1:], env))
}
