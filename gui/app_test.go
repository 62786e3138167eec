package gui

import (
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/internal/wcag"
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
	s := startSession(w, env, func() (*workspace.Workspace, error) { return nil, workspace.ErrAlreadyOpen })
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
	if err := s.finish(); !errors.Is(err, workspace.ErrAlreadyOpen) {
		t.Fatalf("finish = %v, want ErrAlreadyOpen", err)
	}
}

func TestSessionShowsScreensThenClosesTheFolder(t *testing.T) {
	w, env, bg := newTestWindow(t)
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
	if _, err := os.Stat(b.Dir()); !os.IsNotExist(err) {
		t.Fatalf("the demo data folder %s is still there after finish (%v)", b.Dir(), err)
	}
}

// TestDarkThemeOutlinesAreVisible: in the dark theme an unticked checkbox's
// outline and the focus ring stand out from the background (contrast of
// at least 3:1 for the outline), and the light theme is Fyne's.
func TestDarkThemeOutlinesAreVisible(t *testing.T) {
	th := newAppTheme()
	bg := th.Color(theme.ColorNameBackground, theme.VariantDark)
	if c := wcag.Contrast(th.Color(theme.ColorNameInputBorder, theme.VariantDark), bg); c < 3 {
		t.Errorf("dark input border contrast %.2f, want at least 3", c)
	}
	if c := wcag.Contrast(theme.DefaultTheme().Color(theme.ColorNameInputBorder, theme.VariantDark), bg); c >= 3 {
		t.Logf("Fyne's own dark border now has contrast %.2f; the override may go", c)
	}
	if _, _, _, a := th.Color(theme.ColorNameFocus, theme.VariantDark).RGBA(); a < 0xc000 {
		t.Errorf("dark focus colour alpha %#x, want a strong ring", a)
	}
	for _, n := range []fyne.ThemeColorName{theme.ColorNameInputBorder, theme.ColorNameFocus} {
		if th.Color(n, theme.VariantLight) != theme.DefaultTheme().Color(n, theme.VariantLight) {
			t.Errorf("light %s changed", n)
		}
	}
}

// TestFileMenuShortcutsAreSpaced renders the File menu as Fyne draws it on
// Windows and Linux and checks that every label ends well clear of its
// shortcut (at least 24 points between the label's last letter and the
// shortcut), not just the menu's inner padding.
func TestFileMenuShortcutsAreSpaced(t *testing.T) {
	if runtime.GOOS == "darwin" {
		t.Skip("macOS menus are native")
	}
	f := newKVFixture(t, theme.VariantLight, nil, 800, 500)
	menu := widget.NewMenu(f.ui.menu.Items[0])
	w := test.NewTempWindow(t, container.NewWithoutLayout(menu))
	w.Resize(fyne.NewSize(600, 400))
	menu.Resize(menu.MinSize())
	checked := 0
	for _, it := range f.ui.menu.Items[0].Items {
		if it.Shortcut == nil {
			continue
		}
		label := strings.TrimRight(it.Label, "\u2003")
		var labelEnd, labelY float32 = -1, -1
		var shortcutStart float32 = -1
		drv := fyne.CurrentApp().Driver()
		var texts []*canvas.Text
		kvWalk(menu, func(o fyne.CanvasObject) {
			if txt, ok := o.(*canvas.Text); ok && txt.Text != "" && txt.Visible() {
				texts = append(texts, txt)
			}
		})
		for _, txt := range texts {
			if txt.Text == it.Label {
				pos := drv.AbsolutePositionForObject(txt)
				labelEnd = pos.X + fyne.MeasureText(label, txt.TextSize, txt.TextStyle).Width
				labelY = pos.Y + txt.Size().Height
			}
		}
		// The shortcut's texts (modifiers, key) end on the label's row.
		for _, txt := range texts {
			pos := drv.AbsolutePositionForObject(txt)
			if txt.Text != it.Label && labelY >= 0 && abs32(pos.Y+txt.Size().Height-labelY) < 3 && pos.X > labelEnd-1 {
				if shortcutStart < 0 || pos.X < shortcutStart {
					shortcutStart = pos.X
				}
			}
		}
		if labelEnd < 0 || shortcutStart < 0 {
			t.Fatalf("%q: label or shortcut not drawn", label)
		}
		if gap := shortcutStart - labelEnd; gap < 24 {
			t.Errorf("%q: %.0f points between the label and its shortcut, want at least 24", label, gap)
		}
		checked++
	}
	if checked < 3 {
		t.Errorf("checked %d items with shortcuts, want the 3 of the File menu", checked)
	}
}

func abs32(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}

// startSession shows the placeholder in w and opens the data folder with
// open in the background, as startWindow does with the window's options;
// the screens (or the error dialog, whose dismissal quits the app) follow
// on the UI goroutine.
func startSession(w fyne.Window, env *uiEnv, open func() (*workspace.Workspace, error)) *session {
	s := newSession(w, env, open)
	s.start()
	return s
}
