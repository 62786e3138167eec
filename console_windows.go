//go:build windows

package main

import (
	"os"

	"golang.org/x/sys/windows"
)

// attachParentProcess is AttachConsole's ATTACH_PARENT_PROCESS ((DWORD)-1).
const attachParentProcess = ^uintptr(0)

var procAttachConsole = windows.NewLazySystemDLL("kernel32.dll").NewProc("AttachConsole")

// attachConsole makes the command line of Keydesk.exe print in the cmd.exe
// or PowerShell window it was started from. Keydesk.exe is built for the GUI
// subsystem (so that opening the window shows no console), and Windows gives
// such a program no standard output: "Keydesk.exe keys list" would print
// nothing. When started with arguments and with no standard output or error
// of its own (not redirected to a file or pipe), it attaches to the parent's
// console and writes there.
//
// The shell does not wait for a GUI program, so its prompt may come back
// before the output and %ERRORLEVEL% is not set; standard input is left
// unattached, so a command that asks (keys delete) gets no answer and
// refuses. The installer therefore also installs keydesk.com, a console
// build of the same program that cmd.exe and PowerShell run for "keydesk"
// (.COM comes before .EXE in PATHEXT): it is waited for, sets the exit
// status and can ask questions. See the README's Windows section.
func attachConsole(args []string) {
	if len(args) == 0 || (hasStdHandle(windows.STD_OUTPUT_HANDLE) && hasStdHandle(windows.STD_ERROR_HANDLE)) {
		return
	}
	if r, _, _ := procAttachConsole.Call(attachParentProcess); r == 0 {
		return // no parent console: started from Explorer or a shortcut
	}
	if !hasStdHandle(windows.STD_OUTPUT_HANDLE) {
		if f := openConsoleOutput(windows.STD_OUTPUT_HANDLE, "/dev/stdout"); f != nil {
			os.Stdout = f
		}
	}
	if !hasStdHandle(windows.STD_ERROR_HANDLE) {
		if f := openConsoleOutput(windows.STD_ERROR_HANDLE, "/dev/stderr"); f != nil {
			os.Stderr = f
		}
	}
}

// hasStdHandle reports whether the process has a usable standard handle.
func hasStdHandle(which uint32) bool {
	h, err := windows.GetStdHandle(which)
	if err != nil || h == 0 || h == windows.InvalidHandle {
		return false
	}
	t, err := windows.GetFileType(h)
	return err == nil && t != windows.FILE_TYPE_UNKNOWN
}

// openConsoleOutput opens the attached console's output and makes it the
// standard handle which, or returns nil.
func openConsoleOutput(which uint32, name string) *os.File {
	conout, err := windows.UTF16PtrFromString("CONOUT$")
	if err != nil {
		return nil
	}
	h, err := windows.CreateFile(conout, windows.GENERIC_READ|windows.GENERIC_WRITE,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE, nil, windows.OPEN_EXISTING, 0, 0)
	if err != nil {
		return nil
	}
	_ = windows.SetStdHandle(which, h)
	return os.NewFile(uintptr(h), name)
}
