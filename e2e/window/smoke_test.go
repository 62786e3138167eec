//go:build smoke

// Package window holds the end-to-end smoke test of the desktop window: the real
// binary, built with cgo and Fyne's GLFW driver, run under X (Xvfb) and driven
// with xdotool. Run it with `make test-smoke` (go test -tags smoke,...).
package window

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

const windowTitle = "Company API Keys"

// repoRoot is the module root (this file is in e2e/window/).
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}

// display returns an X display: $DISPLAY, or a new Xvfb on :99.
func display(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("DISPLAY"); d != "" {
		return d
	}
	if _, err := exec.LookPath("Xvfb"); err != nil {
		t.Fatal("no DISPLAY and no Xvfb: install xvfb (scripts/install-deps.sh)")
	}
	xvfb := exec.Command("Xvfb", ":99", "-screen", "0", "1280x800x24", "-nolisten", "tcp")
	if err := xvfb.Start(); err != nil {
		t.Fatalf("start Xvfb: %v", err)
	}
	t.Cleanup(func() { xvfb.Process.Kill(); xvfb.Wait() })
	waitFor(t, 10*time.Second, "Xvfb to accept connections", func() bool {
		return exec.Command("xdotool", "getdisplaygeometry").Run() == nil
	}, "DISPLAY=:99")
	return ":99"
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool, env ...string) {
	t.Helper()
	for _, e := range env {
		k, v, _ := strings.Cut(e, "=")
		t.Setenv(k, v)
	}
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		<-tick.C
	}
}

// capture grabs an X window (or "root") as an image.
func capture(t *testing.T, window string) image.Image {
	t.Helper()
	out, err := exec.Command("import", "-window", window, "png:-").Output()
	if err != nil {
		t.Fatalf("import -window %s: %v", window, err)
	}
	img, err := png.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("decode capture: %v", err)
	}
	return img
}

// distinctColours counts the colours of an image (up to a limit).
func distinctColours(img image.Image) int {
	seen := map[uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			seen[r>>8<<16|g>>8<<8|bl>>8] = true
			if len(seen) > 5000 {
				return len(seen)
			}
		}
	}
	return len(seen)
}

// redPixels counts pixels in the theme's error red (expired rows, badges).
func redPixels(img image.Image) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r>>8 > 200 && g>>8 < 110 && bl>>8 < 110 {
				n++
			}
		}
	}
	return n
}

// bluePixels counts the strongly blue pixels of img inside r (the primary
// colour of a high-importance button).
func bluePixels(img image.Image, r image.Rectangle) int {
	n := 0
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			if cb>>8 > 200 && cr>>8 < 90 && cg>>8 < 160 {
				n++
			}
		}
	}
	return n
}

// changedFraction is the share of pixels that differ between two captures.
func changedFraction(a, b image.Image) float64 {
	ab, bb := a.Bounds(), b.Bounds()
	if ab != bb {
		return 1
	}
	changed, total := 0, 0
	for y := ab.Min.Y; y < ab.Max.Y; y += 2 {
		for x := ab.Min.X; x < ab.Max.X; x += 2 {
			total++
			r1, g1, b1, _ := a.At(x, y).RGBA()
			r2, g2, b2, _ := b.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 {
				changed++
			}
		}
	}
	return float64(changed) / float64(total)
}

// crop returns the part r of img, as its own image.
func crop(img image.Image, r image.Rectangle) image.Image {
	out := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			out.Set(x-r.Min.X, y-r.Min.Y, img.At(x, y))
		}
	}
	return out
}

// stderrLines collects a process's stderr lines.
type stderrLines struct {
	mu    sync.Mutex
	lines []string
}

func (s *stderrLines) has(prefix string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.lines {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

func (s *stderrLines) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.lines, "\n")
}

func TestSmokeWindow(t *testing.T) {
	for _, tool := range []string{"xdotool", "import"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing: run scripts/install-deps.sh (xdotool, imagemagick)", tool)
		}
	}
	root := repoRoot(t)
	bin := filepath.Join(t.TempDir(), "keydesk")
	build := exec.Command("go", "build", "-tags", "migrated_fynedo", "-o", bin, ".")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	disp := display(t)
	t.Setenv("DISPLAY", disp)
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--demo", "--now", "2026-11-27T10:00:00Z")
	cmd.Env = append(os.Environ(), "DISPLAY="+disp, "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_DATA_HOME="+filepath.Join(home, ".local/share"), "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "KEYDESK_STARTUP_TRACE=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start keydesk --demo: %v", err)
	}
	var lines stderrLines
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines.mu.Lock()
			lines.lines = append(lines.lines, sc.Text())
			lines.mu.Unlock()
		}
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	})

	// The window appears and shows the table of demo keys. Its title is
	// windowTitle while the store opens, then the demo's ("… — Demo").
	search := exec.CommandContext(ctx, "xdotool", "search", "--sync", "--name", "^"+windowTitle)
	search.Env = append(os.Environ(), "DISPLAY="+disp)
	var wid string
	done := make(chan struct{})
	go func() {
		out, _ := search.Output()
		wid = strings.Fields(string(out) + " ")[0]
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatalf("no window named %q within 60 s; stderr:\n%s", windowTitle, lines.String())
	case err := <-exited:
		t.Fatalf("keydesk exited before showing its window: %v; stderr:\n%s", err, lines.String())
	}
	if wid == "" {
		t.Fatalf("xdotool found no window; stderr:\n%s", lines.String())
	}
	// Park the pointer on an empty spot of the window (beside the counts line)
	// so that no tooltip shows in captures.
	if out, err := exec.Command("xdotool", "mousemove", "--sync", "1100", "133").CombinedOutput(); err != nil {
		t.Logf("xdotool mousemove: %v %s", err, out)
	}
	waitFor(t, 30*time.Second, "the keys table to be shown", func() bool { return lines.has("keydesk-trace: table-shown") })
	if lines.has("keydesk-trace: table-shown rows=0") {
		t.Fatal("the demo store shows no keys")
	}
	// Painted: many colours (text), and the demo's expired keys in red.
	var first image.Image
	waitFor(t, 30*time.Second, "the table to be painted with expired keys in red", func() bool {
		first = capture(t, wid)
		return distinctColours(first) > 200 && redPixels(first) > 200
	})
	if b := first.Bounds(); b.Dx() < 800 || b.Dy() < 500 {
		t.Errorf("window is %v, too small for the table", b.Size())
	}
	if os.Getenv("KEYDESK_UPDATE_SCREENSHOT") == "1" {
		writePNG(t, filepath.Join(root, "docs", "screenshot.png"), first)
	}

	// Ctrl+N opens the create dialog: a modal that dims most of the window.
	key(t, wid, "ctrl+n")
	var second image.Image
	waitFor(t, 20*time.Second, "the create dialog", func() bool {
		second = capture(t, wid)
		return changedFraction(first, second) > 0.3
	})
	if os.Getenv("KEYDESK_UPDATE_SCREENSHOT") == "1" {
		writePNG(t, filepath.Join(root, "docs", "screenshot-create.png"), second)
	}

	// Tab walks the dialog's controls: the focus (a highlight) moves off
	// the name onto the presets, the type's radio buttons and the tabs'
	// controls, which Fyne's own widgets kept Esc from.
	for range 10 {
		key(t, wid, "Tab")
	}
	waitFor(t, 20*time.Second, "Tab to move the focus in the create dialog", func() bool {
		c := capture(t, wid)
		return changedFraction(second, c) > 0.0005 && changedFraction(first, c) > 0.3
	})

	// Esc closes the untouched create dialog, whatever has the focus.
	key(t, wid, "Escape")
	waitFor(t, 20*time.Second, "Esc to close the create dialog", func() bool {
		return changedFraction(first, capture(t, wid)) < 0.05
	})

	// At the smallest size (800×500) the row actions stay on screen: an
	// edit button in the actions column opens the rename dialog.
	if out, err := exec.Command("xdotool", "windowsize", "--sync", wid, "800", "500").CombinedOutput(); err != nil {
		t.Logf("xdotool windowsize: %v %s", err, out)
	}
	// Laid out again for the new width: the blue Create API Key button
	// has moved into the top right corner, under the demo's banner.
	var small image.Image
	waitFor(t, 20*time.Second, "the window laid out at 800×500", func() bool {
		small = capture(t, wid)
		b := small.Bounds()
		return b.Dx() <= 820 && bluePixels(small, image.Rect(b.Dx()-100, 30, b.Dx()-5, 230)) > 300
	})
	if os.Getenv("KEYDESK_UPDATE_SCREENSHOT") == "1" {
		writePNG(t, filepath.Join(root, "docs", "screenshot-small.png"), small)
	}
	// The edit buttons sit 122 px from the right edge (the actions column
	// is the last one); rows are 40 px apart, below the header and any
	// menu bar: try a few heights until one lands on a button.
	x := small.Bounds().Dx() - 122
	opened := false
	rowY := 0
	for y := 200; y < 330 && !opened; y += 10 {
		exec.Command("xdotool", "mousemove", "--window", wid, "--sync", fmt.Sprint(x), fmt.Sprint(y), "click", "1").Run()
		deadline := time.Now().Add(2 * time.Second)
		for time.Now().Before(deadline) && !opened {
			opened = changedFraction(small, capture(t, wid)) > 0.3
		}
		rowY = y
	}
	if !opened {
		t.Fatalf("at 800×500 no edit button in the actions column opened the rename dialog; stderr:\n%s", lines.String())
	}
	// Esc from a button: Tab moves the focus from the name to Cancel.
	key(t, wid, "Tab")
	key(t, wid, "Escape")
	// Closed: the Create API Key button is no longer dimmed.
	var base image.Image
	waitFor(t, 20*time.Second, "Esc to close the rename dialog", func() bool {
		base = capture(t, wid)
		b := base.Bounds()
		return bluePixels(base, image.Rect(b.Dx()-100, 30, b.Dx()-5, 230)) > 300
	})

	// A click on that row's name opens the key's details in a panel on
	// the right, beside the table; Esc closes it.
	if out, err := exec.Command("xdotool", "mousemove", "--window", wid, "--sync", "60", fmt.Sprint(rowY), "click", "1").CombinedOutput(); err != nil {
		t.Fatalf("xdotool click on a row: %v %s", err, out)
	}
	var panel image.Image
	waitFor(t, 20*time.Second, "the details panel", func() bool {
		panel = capture(t, wid)
		b := panel.Bounds()
		right := image.Rect(b.Dx()-340, 150, b.Dx(), b.Dy()-100)
		return changedFraction(crop(base, right), crop(panel, right)) > 0.2
	})
	// The smallest window holds the table, a dialog and the panel without
	// growing (it grew to 808×536, its content's floor plus the menu bar
	// and padding).
	if b := panel.Bounds(); b.Dx() != 800 || b.Dy() != 500 {
		t.Errorf("at its smallest size the window grew to %d×%d with the details panel open, want 800×500", b.Dx(), b.Dy())
	}
	if os.Getenv("KEYDESK_UPDATE_SCREENSHOT") == "1" {
		writePNG(t, filepath.Join(root, "docs", "screenshot-details.png"), panel)
	}
	key(t, wid, "Escape")
	waitFor(t, 20*time.Second, "Esc to close the details panel", func() bool {
		return changedFraction(base, capture(t, wid)) < 0.15
	})

	// Ctrl+Q quits cleanly. The window is gone before xdotool sends the key
	// releases (X answers BadWindow), so the quit keystroke goes through
	// XTEST to the focused window and its own result is not what is tested:
	// the process's exit is.
	exec.Command("xdotool", "windowfocus", "--sync", wid).Run()
	exec.Command("xdotool", "key", "--clearmodifiers", "ctrl+q").Run()
	select {
	case err := <-exited:
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				t.Fatalf("keydesk exited with status %d; stderr:\n%s", ee.ExitCode(), lines.String())
			}
			t.Fatalf("keydesk: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("keydesk did not exit within 20 s of Ctrl+Q; stderr:\n%s", lines.String())
	}
	for _, l := range strings.Split(lines.String(), "\n") {
		if strings.Contains(l, "kdk_") {
			t.Errorf("stderr shows something key-like: %q", l)
		}
	}
}

func key(t *testing.T, wid, keys string) {
	t.Helper()
	exec.Command("xdotool", "windowfocus", "--sync", wid).Run()
	if out, err := exec.Command("xdotool", "key", "--clearmodifiers", "--window", wid, keys).CombinedOutput(); err != nil {
		t.Fatalf("xdotool key %s: %v %s", keys, err, out)
	}
}

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	fmt.Println("wrote", path)
}
