// Package wcag computes the Web Content Accessibility Guidelines' colour
// contrast, which the window's tests hold its theme to: at least 4.5:1 for
// text and 3:1 for the outline of a control.
package wcag

import (
	"image/color"
	"math"
)

// Luminance is the relative luminance of an opaque colour, from 0 (black)
// to 1 (white).
func Luminance(c color.Color) float64 {
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

// Contrast is the contrast ratio of two opaque colours, from 1 (the same)
// to 21 (black on white), whichever is the lighter.
func Contrast(a, b color.Color) float64 {
	la, lb := Luminance(a), Luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}
