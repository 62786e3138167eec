package gui

import (
	"errors"
	"os"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/storage"
	"github.com/keydesk/keydesk/workspace"
)

// overlayTexts returns the text of every label in the window's top overlay.
func overlayTexts(w fyne.Window) []string {
	top := w.Canvas().Overlays().Top()
	if top == nil {
		return nil
	}
	var out []string
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		switch v := o.(type) {
		case *widget.Label:
			out = append(out, v.Text)
		case *fyne.Container:
			for _, c := range v.Objects {
				walk(c)
			}
		case fyne.Widget:
			r := test.WidgetRenderer(v)
			for _, c := range r.Objects() {
				walk(c)
			}
		}
	}
	walk(top)
	return out
}

func TestSessionOpenFailureShowsOneSentence(t *testing.T) {
	a := test.NewTempApp(t)
	w := test.NewTempWindow(t, nil)
	env := newAppEnv(a, w)
	bg := &testRunner{}
	env.bg = bg
	s := startSession(w, env, func() (*workspace.Workspace, error) { return nil, storage.ErrAlreadyOpen })
	bg.wait()
	<-s.shown
	found := false
	for _, text := range overlayTexts(w) {
		if text == "Keydesk is already open on this data folder." {
			found = true
		}
	}
	if !found {
		t.Fatalf("error dialog texts = %q, want the already-open sentence", overlayTexts(w))
	}
	if _, ok := mainTabs(w.Content()); ok {
		t.Fatal("the screens are shown although the data folder did not open")
	}
	if err := s.finish(); !errors.Is(err, storage.ErrAlreadyOpen) {
		t.Fatalf("finish = %v, want ErrAlreadyOpen", err)
	}
}

func TestSessionShowsScreensThenClosesTheFolder(t *testing.T) {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(theme.DefaultTheme()) // the test theme has no bold monospace face
	w := test.NewTempWindow(t, nil)
	env := newAppEnv(a, w)
	bg := &testRunner{}
	env.bg = bg
	var b *workspace.Workspace
	s := startSession(w, env, func() (*workspace.Workspace, error) {
		var err error
		b, err = workspace.Open(workspace.Options{Demo: true})
		return b, err
	})
	if _, ok := mainTabs(w.Content()); ok {
		t.Fatal("the screens were shown before the data folder was opened")
	}
	bg.wait()
	<-s.shown
	tabs, ok := mainTabs(w.Content())
	if !ok || len(tabs.Items) != 4 {
		t.Fatalf("window content = %T, want the four screens", w.Content())
	}
	if err := s.finish(); err != nil {
		t.Fatalf("finish: %v", err)
	}
	if _, err := os.Stat(b.Dir); !os.IsNotExist(err) {
		t.Fatalf("the demo data folder %s is still there after finish (%v)", b.Dir, err)
	}
}
