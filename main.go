// Command keydesk issues and manages Company API Keys: with no subcommand it
// opens the desktop window, otherwise it runs the command line (keydesk
// --help lists the commands).
package main

import (
	"os"

	"github.com/keydesk/keydesk/cli"
	"github.com/keydesk/keydesk/gui"
)

func main() {
	env := &cli.Env{
		Stdin:      os.Stdin,
		Stdout:     os.Stdout,
		Stderr:     os.Stderr,
		Getenv:     os.Getenv,
		Terminal:   cli.FileTerminal(os.Stdin),
		OpenWindow: gui.Run,
	}
	os.Exit(cli.Main(os.Args[1:], env))
}
