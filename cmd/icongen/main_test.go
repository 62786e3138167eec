package main

import (
	"bytes"
	"image"
	"image/draw"
	"image/png"
	"testing"

	"github.com/keydesk/keydesk/assets"
)

// The committed assets/icon.png must be what the generator draws, so that
// the drawing code and the icon never drift apart (regenerate with make icon).
func TestCommittedIconIsCurrent(t *testing.T) {
	committed, err := png.Decode(bytes.NewReader(assets.Icon))
	if err != nil {
		t.Fatalf("assets.Icon is not a PNG: %v", err)
	}
	if b := committed.Bounds(); b.Dx() != Size || b.Dy() != Size {
		t.Fatalf("assets/icon.png is %dx%d, want %dx%d", b.Dx(), b.Dy(), Size, Size)
	}
	want := toNRGBA(committed)
	got := Draw(Size)
	if !bytes.Equal(got.Pix, want.Pix) {
		t.Fatal("assets/icon.png differs from what cmd/icongen draws; run make icon")
	}
}

func toNRGBA(img image.Image) *image.NRGBA {
	out := image.NewNRGBA(img.Bounds())
	draw.Draw(out, out.Bounds(), img, img.Bounds().Min, draw.Src)
	return out
}

// luminance is the relative luminance of a pixel, 0..1.
func luminance(img *image.NRGBA, x, y int) float64 {
	c := img.NRGBAAt(x, y)
	return (0.2126*float64(c.R) + 0.7152*float64(c.G) + 0.0722*float64(c.B)) / 255
}

// At 32 px the key must still stand out: along the key's diagonal there
// are bright glyph pixels, the bow's hole shows the dark background, and
// the corners are transparent.
func TestLegibleAt32px(t *testing.T) {
	small := Draw(32)
	if a := small.NRGBAAt(0, 0).A; a != 0 {
		t.Errorf("corner alpha = %d, want a transparent rounded corner", a)
	}
	bright, dark := 0, 0
	for i := 4; i < 28; i++ {
		switch l := luminance(small, i, i); {
		case l > 0.6:
			bright++
		case l < 0.35:
			dark++
		}
	}
	if bright < 8 {
		t.Errorf("only %d bright key pixels on the diagonal at 32 px, want at least 8", bright)
	}
	if dark < 2 {
		t.Errorf("only %d dark pixels on the diagonal at 32 px: the bow's hole or the background is not visible", dark)
	}
	// The hole of the bow (centre at about (11.9, 11.9) at this size) is
	// darker than the ring around it.
	hole, ring := luminance(small, 11, 11), luminance(small, 11, 7)
	if hole >= ring-0.2 {
		t.Errorf("bow hole luminance %.2f vs ring %.2f: the hole is not visible at 32 px", hole, ring)
	}
}

func TestEncodePNGRoundTrips(t *testing.T) {
	img := Draw(64)
	data, err := EncodePNG(img)
	if err != nil {
		t.Fatal(err)
	}
	back, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(toNRGBA(back).Pix, img.Pix) {
		t.Fatal("PNG round trip changed pixels")
	}
}
