// Command perfhello is the baseline of make perf-gui's memory figure: a Fyne
// window holding one label, built from the same module (the same Fyne, the
// same driver and renderer) and run in the same Xvfb as the keydesk window.
// What keydesk holds above it is keydesk's own; llvmpipe and Fyne's caches
// are in both. It writes "perfhello: shown" to stderr once the window is
// up and runs until it is closed.
package main

import (
	"fmt"
	"os"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/widget"
)

// Title is the window's title, which cmd/perfgui looks for.
const Title = "Keydesk hello"

func main() {
	a := app.NewWithID("com.keydesk.perfhello")
	w := a.NewWindow(Title)
	w.SetContent(widget.NewLabel("Hello"))
	w.Resize(fyne.NewSize(1180, 720)) // the keydesk window's default size
	a.Lifecycle().SetOnStarted(func() { fmt.Fprintln(os.Stderr, "perfhello: shown") })
	w.ShowAndRun()
}
