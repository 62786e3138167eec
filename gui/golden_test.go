package gui

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"

	"github.com/keydesk/keydesk/core"
)

// kvVariants are the themes every golden image is taken in.
var kvVariants = []struct {
	name    string
	variant fyne.ThemeVariant
}{
	{"light", theme.VariantLight},
	{"dark", theme.VariantDark},
}

// goldenAtBothSizes runs show on the demo keys in each theme variant, at
// the default window (1280×800) and at the smallest one, and compares the
// window with the golden image name+size+"_"+variant+".png", where size is
// "" or "_small".
func goldenAtBothSizes(t *testing.T, name string, show func(t *testing.T, f *kvFixture)) {
	t.Helper()
	for _, v := range kvVariants {
		for _, size := range []struct {
			name string
			w, h float32
		}{{"", 1280, 800}, {"_small", minWindowWidth, minWindowHeight}} {
			t.Run(v.name+size.name, func(t *testing.T) {
				f := newKVFixture(t, v.variant, kvDemo, size.w, size.h)
				show(t, f)
				test.AssertImageMatches(t, name+size.name+"_"+v.name+".png", f.win.Canvas().Capture())
			})
		}
	}
}

func TestGoldenKeysWindow(t *testing.T) {
	for _, v := range kvVariants {
		t.Run(v.name, func(t *testing.T) {
			f := newKVFixture(t, v.variant, kvDemo, 1180, 720)
			test.AssertImageMatches(t, "keys_main_"+v.name+".png", f.win.Canvas().Capture())
		})
	}
}

// TestGoldenKeysSmallWindow: at the smallest window the table fits: Created
// and Key fold, Name takes what is left, the actions stay in view.
func TestGoldenKeysSmallWindow(t *testing.T) {
	for _, v := range kvVariants {
		t.Run(v.name, func(t *testing.T) {
			f := newKVFixture(t, v.variant, kvDemo, minWindowWidth, minWindowHeight)
			test.AssertImageMatches(t, "keys_small_"+v.name+".png", f.win.Canvas().Capture())
		})
	}
}

func TestGoldenKeysEmpty(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, nil, 1180, 720)
	test.AssertImageMatches(t, "keys_empty_light.png", f.win.Canvas().Capture())
}

func TestGoldenCreateDialogTabs(t *testing.T) {
	for _, v := range kvVariants {
		t.Run(v.name, func(t *testing.T) {
			f := newKVFixture(t, v.variant, kvDemo, 1180, 720)
			d := f.openCreate()
			test.Type(d.name, "Support desk integration")
			test.AssertImageMatches(t, "create_global_"+v.name+".png", f.win.Canvas().Capture())

			d.tabs.Select(d.tabItems[1])
			d.section("messaging").SetSelected(accessFull)
			d.section("users").SetSelected(accessRead)
			test.AssertImageMatches(t, "create_sections_"+v.name+".png", f.win.Canvas().Capture())

			d.section("messaging").SetSelected(accessNone)
			d.section("users").SetSelected(accessNone)
			d.tabs.Select(d.tabItems[2])
			test.Type(d.opSearch, "channel")
			test.Tap(d.opCheck("messaging.channels.list"))
			test.Tap(d.opCheck("messaging.channels.get"))
			test.AssertImageMatches(t, "create_operations_"+v.name+".png", f.win.Canvas().Capture())
		})
	}
}

// TestGoldenCreateSmallWindow: the create dialog at the smallest window,
// on each tab.
func TestGoldenCreateSmallWindow(t *testing.T) {
	for _, v := range kvVariants {
		t.Run(v.name, func(t *testing.T) {
			f := newKVFixture(t, v.variant, kvDemo, minWindowWidth, minWindowHeight)
			d := f.openCreate()
			test.Type(d.name, "Support desk integration")
			f.win.Canvas().Unfocus()
			test.AssertImageMatches(t, "create_small_global_"+v.name+".png", f.win.Canvas().Capture())

			d.tabs.Select(d.tabItems[1])
			d.section("users").SetSelected(accessRead)
			test.AssertImageMatches(t, "create_small_sections_"+v.name+".png", f.win.Canvas().Capture())

			d.section("users").SetSelected(accessNone)
			d.tabs.Select(d.tabItems[2])
			test.Type(d.opSearch, "channel")
			test.Tap(d.opCheck("messaging.channels.list"))
			f.win.Canvas().Unfocus()
			test.AssertImageMatches(t, "create_small_operations_"+v.name+".png", f.win.Canvas().Capture())
		})
	}
}

// TestGoldenCustomExpiryPicker: Custom… shows a date and a time; the
// calendar drops down at the month of the date, at both window sizes;
// shown the month before (today's), its past days are greyed out and
// today is marked.
func TestGoldenCustomExpiryPicker(t *testing.T) {
	goldenAtBothSizes(t, "create_custom_expiry", func(t *testing.T, f *kvFixture) {
		d := f.openCreate()
		test.Type(d.name, "Quarter-end export")
		test.Tap(d.customBtn)
		test.Tap(d.customDate.ActionItem.(fyne.Tappable))
		if d.customDate.Calendar() == nil {
			t.Fatal("the calendar did not open")
		}
		d.customDate.Calendar().ShowPrevious()
		f.win.Canvas().Unfocus()
	})
}

func TestGoldenSecretDialog(t *testing.T) {
	for _, v := range kvVariants {
		t.Run(v.name, func(t *testing.T) {
			f := newKVFixture(t, v.variant, kvDemo, 1180, 720)
			k := f.key("CRM sync (production)")
			// A fixed test vector, never a key issued anywhere.
			secret := core.FormatKey([32]byte{})
			f.keys.secret = showSecret(f.env, f.svc.Catalog(), k, secret)
			test.AssertImageMatches(t, "secret_"+v.name+".png", f.win.Canvas().Capture())
		})
	}
}

// TestGoldenDemoBanner: the demo says so above the tabs, with its ways
// out, at both window sizes.
func TestGoldenDemoBanner(t *testing.T) {
	goldenAtBothSizes(t, "demo_banner", func(t *testing.T, f *kvFixture) {
		f.ui.markDemo(f.env, func() {}, func() {})
	})
}

// TestGoldenCreateTypeChoice: the permission type chosen above the tabs
// (Global), the Sections tab in view with a section picked, and the note
// that it is not used, at both window sizes.
func TestGoldenCreateTypeChoice(t *testing.T) {
	goldenAtBothSizes(t, "create_type_choice", func(t *testing.T, f *kvFixture) {
		d := f.openCreate()
		test.Type(d.name, "Support desk integration")
		d.section("users").SetSelected(accessRead)
		test.Tap(d.global)
		d.tabs.Select(d.tabItems[1])
		f.win.Canvas().Unfocus()
	})
}
