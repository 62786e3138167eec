package widgets

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"

	"github.com/keydesk/keydesk/internal/wcag"
)

// TestBannerTextIsReadable: the banner's sentence (the text colour) has at
// least 4.5:1 contrast on its tinted background in both variants, its
// background is visibly tinted with its colour, and it keeps its text.
func TestBannerTextIsReadable(t *testing.T) {
	const sentence = "The records do not match their signatures."
	b := NewBanner(sentence, theme.ColorNameError)
	if b.Text() != sentence {
		t.Fatalf("Text() = %q", b.Text())
	}
	th := theme.DefaultTheme()
	for _, v := range []fyne.ThemeVariant{theme.VariantLight, theme.VariantDark} {
		bg := b.Background(th, v)
		if c := wcag.Contrast(th.Color(theme.ColorNameForeground, v), bg); c < 4.5 {
			t.Errorf("variant %d: text on the banner has contrast %.2f, want at least 4.5", v, c)
		} else {
			t.Logf("variant %d: text on the banner %.2f:1", v, c)
		}
		r, g, _, _ := bg.RGBA()
		if r <= g {
			t.Errorf("variant %d: background %v is not tinted red", v, bg)
		}
		if bg == th.Color(theme.ColorNameBackground, v) {
			t.Errorf("variant %d: the banner has the window's background", v)
		}
	}
}
