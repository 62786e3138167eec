package gui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2/theme"
)

// TestTryKeyIntroTellsWhatIsSent: the screen's intro no longer says that
// nothing is sent over the network while it offers Send API Request,
// which sends a real request; it says which of the two sends.
func TestTryKeyIntroTellsWhatIsSent(t *testing.T) {
	f := newRQFixture(t, theme.VariantLight, 1000, 900)
	tkPick(t, f.v, "order", "getOrder")
	if !f.v.req.box.Visible() || f.v.intro == nil {
		t.Fatal("Send API Request is not offered for an imported operation")
	}
	intro := f.v.intro.Text
	if strings.HasPrefix(intro, "Nothing is sent") {
		t.Errorf("the intro says nothing is sent beside Send API Request: %q", intro)
	}
	for _, want := range []string{"Check the key sends nothing", "Send API Request", "does send a real request"} {
		if !strings.Contains(intro, want) {
			t.Errorf("the intro lacks %q: %q", want, intro)
		}
	}
}
