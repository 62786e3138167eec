package gui

import (
	"fmt"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
	"golang.org/x/image/font/sfnt"

	"github.com/keydesk/keydesk/workspace"
)

// missingGlyphs returns the characters of s that the app theme's font for
// style lacks (Fyne 2.8.1 draws them from a fallback font, or as a box,
// with the space after them broken), spaces and line breaks aside.
func missingGlyphs(t *testing.T, s string, style fyne.TextStyle) []rune {
	t.Helper()
	f, err := sfnt.Parse(newAppTheme().Font(style).Content())
	if err != nil {
		t.Fatalf("parse the font for %+v: %v", style, err)
	}
	var buf sfnt.Buffer
	var out []rune
	for _, r := range s {
		if r == '\n' || r == '\t' {
			continue
		}
		if g, err := f.GlyphIndex(&buf, r); err != nil || g == 0 {
			out = append(out, r)
		}
	}
	return out
}

// shownTexts returns the text of every label, rich text, button, entry
// placeholder, check, radio and hyperlink under o, with its style.
func shownTexts(o fyne.CanvasObject) map[string]fyne.TextStyle {
	out := map[string]fyne.TextStyle{}
	kvWalk(o, func(o fyne.CanvasObject) {
		switch x := o.(type) {
		case *widget.Label:
			out[x.Text] = x.TextStyle
		case *widget.RichText:
			for _, seg := range x.Segments {
				if t, ok := seg.(*widget.TextSegment); ok {
					out[t.Text] = t.Style.TextStyle
				}
			}
		case *widget.Button:
			out[x.Text] = fyne.TextStyle{Bold: true}
		case *widget.Entry:
			out[x.PlaceHolder] = x.TextStyle
		case *widget.Check:
			out[x.Text] = fyne.TextStyle{}
		case *widget.RadioGroup:
			for _, s := range x.Options {
				out[s] = fyne.TextStyle{}
			}
		case *widget.Hyperlink:
			out[x.Text] = fyne.TextStyle{}
		}
	})
	return out
}

// Every string the window shows, on each of its screens and in its menu,
// and every sentence of workspace's advice table, uses only characters the
// bundled font has (issue 22: "File →� Back Up…" in Settings).
func TestEveryShownStringHasItsGlyphs(t *testing.T) {
	wt := startTestWindow(t, workspace.Options{Demo: true, Keyring: workspace.NewMemoryKeyring()}, nil)
	wt.screens()
	tabs, ok := mainTabs(wt.w.Content())
	if !ok {
		t.Fatal("no screens")
	}
	texts := map[string]fyne.TextStyle{}
	for _, item := range tabs.Items {
		tabs.Select(item)
		wt.bg.wait()
		for s, st := range shownTexts(wt.w.Content()) {
			texts[s] = st
		}
		texts[item.Text] = fyne.TextStyle{Bold: true}
	}
	// The create dialog, with a choice on each tab (their titles count
	// them).
	tabs.SelectIndex(0)
	ui := &mainUI{}
	kvWalk(wt.w.Content(), func(o fyne.CanvasObject) {
		if v, ok := o.(*keysView); ok {
			ui.keys = v
		}
	})
	if ui.keys == nil {
		t.Fatal("no keys screen")
	}
	ui.keys.openCreate(nil)
	d := ui.keys.creating
	test.Tap(d.global)
	for s, st := range shownTexts(wt.w.Canvas().Overlays().Top()) {
		texts[s] = st
	}
	for _, item := range d.tabItems {
		texts[item.Text] = fyne.TextStyle{Bold: true}
	}
	d.dlg.Hide()
	for _, m := range wt.w.MainMenu().Items {
		texts[m.Label] = fyne.TextStyle{}
		for _, it := range m.Items {
			texts[strings.TrimSuffix(it.Label, shortcutGap)] = fyne.TextStyle{}
		}
	}
	for _, s := range workspace.Sentences() {
		texts[s] = fyne.TextStyle{}
	}
	for _, s := range []string{wt.w.Title(), windowTitle, forgedBanner, demoExplained, keyFileExplained} {
		texts[s] = fyne.TextStyle{}
	}
	if len(texts) < 50 {
		t.Fatalf("only %d strings found: the walk missed the screens", len(texts))
	}
	for s, st := range texts {
		if m := missingGlyphs(t, s, st); len(m) > 0 {
			t.Errorf("%q: the font lacks %s", s, runes(m))
		}
	}
	// The check itself can fail.
	if m := missingGlyphs(t, "File → Back Up…", fyne.TextStyle{}); len(m) != 1 {
		t.Errorf("the check finds %q missing in \"File → Back Up…\", want the arrow", m)
	}
}

// runes writes characters as U+XXXX 'c'.
func runes(rs []rune) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = fmt.Sprintf("U+%04X %q", r, r)
	}
	return strings.Join(parts, ", ")
}
