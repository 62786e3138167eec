// Command icongen draws Keydesk's application icon, a gold key on a
// rounded-square indigo-to-teal gradient, and writes it as a 512×512 PNG:
//
//	go run ./cmd/icongen -o assets/icon.png
//
// The drawing is made of signed distance functions, so edges are
// anti-aliased analytically and the key stays legible at 32 px.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
)

// Size is the icon's width and height in pixels.
const Size = 512

func main() {
	out := flag.String("o", "assets/icon.png", "where to write the PNG")
	flag.Parse()
	data, err := EncodePNG(Draw(Size))
	if err == nil {
		err = os.WriteFile(*out, data, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "icongen:", err)
		os.Exit(1)
	}
}

// EncodePNG encodes img with the best compression.
func EncodePNG(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("encode icon: %w", err)
	}
	return buf.Bytes(), nil
}

type vec struct{ x, y float64 }

func (a vec) sub(b vec) vec        { return vec{a.x - b.x, a.y - b.y} }
func (a vec) length() float64      { return math.Hypot(a.x, a.y) }
func (a vec) rotate(t float64) vec { s, c := math.Sincos(t); return vec{a.x*c - a.y*s, a.x*s + a.y*c} }

// roundedBox is the signed distance from p to a box centred on c with half
// sizes h and corner radius r.
func roundedBox(p, c, h vec, r float64) float64 {
	q := p.sub(c)
	dx := math.Abs(q.x) - h.x + r
	dy := math.Abs(q.y) - h.y + r
	outside := vec{math.Max(dx, 0), math.Max(dy, 0)}.length()
	return outside + math.Min(math.Max(dx, dy), 0) - r
}

func circle(p, c vec, r float64) float64 { return p.sub(c).length() - r }

// keyShape is the signed distance to the key glyph, in icon pixels. The
// key is drawn horizontally (bow on the left, bit on the right) and then
// turned 45° so that it points to the lower right.
func keyShape(p vec, scale float64) float64 {
	centre := vec{256 * scale, 256 * scale}
	q := p.sub(centre).rotate(-math.Pi / 4)
	q = vec{q.x / scale, q.y / scale}
	bow := math.Max(circle(q, vec{-92, 0}, 86), -circle(q, vec{-92, 0}, 36))
	shaft := roundedBox(q, vec{62, 0}, vec{104, 21}, 10)
	tooth1 := roundedBox(q, vec{106, 42}, vec{16, 36}, 6)
	tooth2 := roundedBox(q, vec{150, 34}, vec{16, 28}, 6)
	d := math.Min(math.Min(bow, shaft), math.Min(tooth1, tooth2))
	return d * scale
}

func lerp(a, b, t float64) float64 { return a + (b-a)*t }

func clamp01(v float64) float64 { return math.Max(0, math.Min(1, v)) }

func smoothstep(e0, e1, x float64) float64 {
	t := clamp01((x - e0) / (e1 - e0))
	return t * t * (3 - 2*t)
}

type rgba struct{ r, g, b, a float64 } // premultiplied, 0..1

// over composites src (straight colour c with coverage a) over dst.
func over(dst rgba, c [3]float64, a float64) rgba {
	return rgba{c[0]*a + dst.r*(1-a), c[1]*a + dst.g*(1-a), c[2]*a + dst.b*(1-a), a + dst.a*(1-a)}
}

func hex(v uint32) [3]float64 {
	return [3]float64{float64(v>>16&0xff) / 255, float64(v>>8&0xff) / 255, float64(v&0xff) / 255}
}

func mix(a, b [3]float64, t float64) [3]float64 {
	return [3]float64{lerp(a[0], b[0], t), lerp(a[1], b[1], t), lerp(a[2], b[2], t)}
}

// Draw renders the icon at size×size pixels.
func Draw(size int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	s := float64(size) / Size
	var (
		bgTop    = hex(0x4338CA) // indigo
		bgBottom = hex(0x0E7490) // teal
		goldHi   = hex(0xFDE68A)
		goldLo   = hex(0xF59E0B)
		edge     = hex(0xB45309)
	)
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			p := vec{float64(x) + 0.5, float64(y) + 0.5}
			var px rgba
			// Background: a rounded square with a diagonal gradient and
			// a soft light from the top.
			bg := roundedBox(p, vec{256 * s, 256 * s}, vec{232 * s, 232 * s}, 100*s)
			if cov := clamp01(0.5 - bg); cov > 0 {
				t := clamp01((p.x + p.y) / (2 * float64(size)))
				c := mix(bgTop, bgBottom, t)
				light := 0.10 * (1 - smoothstep(0, 0.55*float64(size), p.y))
				c = mix(c, [3]float64{1, 1, 1}, light)
				px = over(px, c, cov)
				// Drop shadow of the key, inside the background only.
				sh := keyShape(p.sub(vec{0, 12 * s}), s)
				if a := 0.35 * (1 - smoothstep(-6*s, 16*s, sh)); a > 0 {
					px = over(px, hex(0x1E1B4B), a*cov)
				}
			}
			// The key: a gold gradient with a darker rim.
			k := keyShape(p, s)
			if cov := clamp01(0.5 - k); cov > 0 {
				t := clamp01((p.y - 90*s) / (330 * s))
				c := mix(goldHi, goldLo, t)
				rim := smoothstep(-7*s, -2*s, k)
				c = mix(c, edge, 0.55*rim)
				px = over(px, c, cov)
			}
			if px.a > 0 {
				img.SetNRGBA(x, y, color.NRGBA{
					R: uint8(math.Round(px.r / px.a * 255)),
					G: uint8(math.Round(px.g / px.a * 255)),
					B: uint8(math.Round(px.b / px.a * 255)),
					A: uint8(math.Round(px.a * 255)),
				})
			}
		}
	}
	return img
}
