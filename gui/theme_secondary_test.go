package gui

import (
	"image/color"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/gui/internal/guitest"
	"github.com/keydesk/keydesk/gui/widgets"
	"github.com/keydesk/keydesk/internal/wcag"
)

// TestSecondaryTextIsReadable: the secondary-text colour has at least
// 4.5:1 contrast (WCAG AA for text) against every surface secondary text
// sits on, in both variants, while the disabled colour stays Fyne's, well
// below the text colours, so a disabled control still looks disabled.
func TestSecondaryTextIsReadable(t *testing.T) {
	th := newAppTheme()
	for _, v := range []fyne.ThemeVariant{theme.VariantLight, theme.VariantDark} {
		sec := th.Color(colorNameSecondary, v)
		fg := th.Color(theme.ColorNameForeground, v)
		for _, bg := range []fyne.ThemeColorName{theme.ColorNameBackground, theme.ColorNameOverlayBackground,
			theme.ColorNameButton, theme.ColorNameInputBackground, theme.ColorNameMenuBackground} {
			c := wcag.Contrast(sec, th.Color(bg, v))
			t.Logf("variant %d: secondary on %s %.2f:1", v, bg, c)
			if c < 4.5 {
				t.Errorf("variant %d: secondary text on %s has contrast %.2f, want at least 4.5", v, bg, c)
			}
		}
		back := th.Color(theme.ColorNameBackground, v)
		if wcag.Contrast(sec, back) >= wcag.Contrast(fg, back) {
			t.Errorf("variant %d: secondary text is as strong as the normal text", v)
		}
		dis := th.Color(theme.ColorNameDisabled, v)
		if dis != theme.DefaultTheme().Color(theme.ColorNameDisabled, v) {
			t.Errorf("variant %d: the disabled colour changed", v)
		}
		if c := wcag.Contrast(dis, back); c >= wcag.Contrast(sec, back)-1 {
			t.Errorf("variant %d: disabled contrast %.2f is close to the secondary %.2f: disabled controls would look enabled", v, c, wcag.Contrast(sec, back))
		}
	}
}

// TestSecondaryTextDrawsLowImportanceReadably renders a low-importance
// label placed through secondaryText beside a plain one and a disabled
// button, in both variants: the wrapped label is drawn in the secondary
// colour, the plain one (Fyne's way) and the disabled button in the
// disabled colour; a danger message in the same wrapper stays red, and a
// hidden label takes no room in a box.
func TestSecondaryTextDrawsLowImportanceReadably(t *testing.T) {
	for _, v := range kvVariants {
		t.Run(v.name, func(t *testing.T) {
			a := test.NewTempApp(t)
			th := guitest.Variant(newAppTheme(), v.variant)
			a.Settings().SetTheme(th)
			low := widget.NewLabel("18 of 100 characters.")
			low.Importance = widget.LowImportance
			plain := widget.NewLabel("plain")
			plain.Importance = widget.LowImportance
			danger := widget.NewLabel("The name is empty.")
			danger.Importance = widget.DangerImportance
			off := widget.NewButton("Create API Key", nil)
			off.Disable()
			w := test.NewTempWindow(t, container.NewVBox(secondaryText(low), plain, secondaryText(danger), off))
			w.Resize(fyne.NewSize(400, 300))

			want := map[string]color.Color{
				"18 of 100 characters.": th.Color(colorNameSecondary, v.variant),
				"plain":                 th.Color(theme.ColorNameDisabled, v.variant),
				"The name is empty.":    th.Color(theme.ColorNameError, v.variant),
				"Create API Key":        th.Color(theme.ColorNameDisabled, v.variant),
			}
			seen := 0
			kvWalk(w.Content(), func(x fyne.CanvasObject) {
				if txt, ok := x.(*canvas.Text); ok {
					if c, ok := want[txt.Text]; ok {
						seen++
						if txt.Color != c {
							t.Errorf("%q drawn in %v, want %v", txt.Text, txt.Color, c)
						}
					}
				}
			})
			if seen != len(want) {
				t.Fatalf("found %d of the %d texts", seen, len(want))
			}

			// Hidden, the wrapped label takes no room, as a hidden label.
			box := container.NewVBox(widget.NewLabel("above"), secondaryText(low))
			shown := box.MinSize().Height
			low.Hide()
			box.Refresh()
			if h := box.MinSize().Height; h >= shown || h != widget.NewLabel("above").MinSize().Height {
				t.Errorf("box height with the label hidden %.0f (shown %.0f), want the other label's alone", h, shown)
			}
		})
	}
}

// faintLabels returns the visible low-importance labels under o that are
// not placed through secondaryText: they would be drawn in the disabled
// colour.
func faintLabels(o fyne.CanvasObject, inSecondary bool) []string {
	if o == nil || !o.Visible() {
		return nil
	}
	var out []string
	switch x := o.(type) {
	case *widgets.SecondaryLabel:
		inSecondary = true
	case *widget.Label:
		if x.Importance == widget.LowImportance && !inSecondary && x.Text != "" {
			out = append(out, x.Text)
		}
	}
	switch x := o.(type) {
	case *fyne.Container:
		for _, c := range x.Objects {
			out = append(out, faintLabels(c, inSecondary)...)
		}
	case fyne.Widget:
		for _, c := range test.WidgetRenderer(x).Objects() {
			out = append(out, faintLabels(c, inSecondary)...)
		}
	}
	return out
}

// TestNoLowImportanceLabelIsFaint opens the demo data folder and looks at
// every screen, the details panel and the create and edit dialogs: each
// low-importance label shown is drawn in the secondary colour, none in
// the disabled one.
func TestNoLowImportanceLabelIsFaint(t *testing.T) {
	w, v, _ := openWithCheck(t, nil)
	tabs, ok := mainTabs(w.Content())
	if !ok {
		t.Fatal("no screens")
	}
	check := func(where string) {
		t.Helper()
		if got := faintLabels(w.Content(), false); len(got) > 0 {
			t.Errorf("%s: low-importance labels in the disabled colour: %q", where, got)
		}
		for _, o := range w.Canvas().Overlays().List() {
			if got := faintLabels(o, false); len(got) > 0 {
				t.Errorf("%s (dialog): low-importance labels in the disabled colour: %q", where, got)
			}
		}
	}
	for _, item := range tabs.Items {
		tabs.Select(item)
		bgWait(v.env.bg)
		check(item.Text)
	}
	tabs.Select(tabs.Items[0])
	v.showDetails(v.model.shown[0])
	bgWait(v.env.bg)
	check("details panel")
	d := v.openCreate(nil)
	check("create dialog")
	d.dlg.Hide()
	e := v.editKey(v.model.shown[0])
	check("edit dialog")
	e.dlg.Hide()
}
