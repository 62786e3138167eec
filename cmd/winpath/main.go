// Command winpath adds Keydesk's install folder to the user's PATH on
// Windows, and removes it again, for the NSIS installer and uninstaller
// (packaging/windows/keydesk.nsi), which carry it and run it hidden:
//
//	winpath add FOLDER
//	winpath remove [--created] FOLDER
//
// It prints one sentence saying what it did; the exit statuses are
// winpath.Exit*. See internal/winpath for why NSIS cannot do this itself.
package main

import (
	"os"

	"github.com/keydesk/keydesk/internal/winpath"
)

func main() {
	os.Exit(winpath.Main(os.Args[1:], os.Stdout, winpath.System()))
}
