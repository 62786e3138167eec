package wcag

import (
	"image/color"
	"math"
	"testing"
)

func TestContrast(t *testing.T) {
	black, white := color.Black, color.White
	grey := color.NRGBA{R: 0x76, G: 0x76, B: 0x76, A: 0xff} // the lightest grey with 4.5:1 on white
	for _, tc := range []struct {
		name string
		a, b color.Color
		want float64
	}{
		{"black on white", black, white, 21},
		{"white on black (order does not matter)", white, black, 21},
		{"same colour", grey, grey, 1},
		{"#767676 on white", grey, white, 4.54},
	} {
		if got := Contrast(tc.a, tc.b); math.Abs(got-tc.want) > 0.01 {
			t.Errorf("%s: %.3f, want %.2f", tc.name, got, tc.want)
		}
	}
	if l := Luminance(white); l != 1 {
		t.Errorf("white's luminance %v, want 1", l)
	}
}
