package widgets

import (
	"image/color"
	"math"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// luminance is the WCAG relative luminance of an opaque colour.
func luminance(c color.Color) float64 {
	r, g, b, _ := c.RGBA()
	ch := func(v uint32) float64 {
		x := float64(v) / 0xffff
		if x <= 0.03928 {
			return x / 12.92
		}
		return math.Pow((x+0.055)/1.055, 2.4)
	}
	return 0.2126*ch(r) + 0.7152*ch(g) + 0.0722*ch(b)
}

// contrastRatio is the WCAG contrast ratio of two opaque colours.
func contrastRatio(a, b color.Color) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

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
		if c := contrastRatio(th.Color(theme.ColorNameForeground, v), bg); c < 4.5 {
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
