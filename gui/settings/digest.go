package settings

import (
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/mail"
)

// digestSource is what the digest status and preview need.
type digestSource interface {
	// Now is the time the next slot is counted from.
	Now() time.Time
	// NextDigest selects the digest of the next slot, as it would be sent
	// (it blocks: the panel calls it off the UI goroutine).
	NextDigest() (core.Digest, error)
}

// digestPanel is the daily digest's next slot and last result, with Preview
// digest. The settings view lays its widgets out.
type digestPanel struct {
	src digestSource
	loc *time.Location
	ui  UI
	// relayout lays the view out again after the status changed.
	relayout func()

	preview    *widget.Button
	nextSlot   *widget.Label
	lastResult *widget.Label
	// failDetails discloses failText, the technical error of a failed
	// send, under the plain sentence (hidden unless the last send failed).
	failDetails *widget.Button
	failText    *widget.Label
	status      mail.Status

	// shown is the preview last shown (tests).
	shown *dialog.CustomDialog
}

func newDigestPanel(src digestSource, ui UI) *digestPanel {
	p := &digestPanel{src: src, loc: time.Local, ui: ui, relayout: func() {}}
	p.preview = widget.NewButton("Preview digest", p.Preview)
	p.preview.Disable() // until the e-mail form has loaded
	p.nextSlot = widget.NewLabel("")
	p.nextSlot.Wrapping = fyne.TextWrapWord
	p.lastResult = widget.NewLabel("")
	p.lastResult.Wrapping = fyne.TextWrapWord
	p.failText = widget.NewLabel("")
	p.failText.Wrapping = fyne.TextWrapWord
	p.failText.Hide()
	p.failDetails = widget.NewButton("Details", func() {
		if p.failText.Visible() {
			p.failText.Hide()
		} else {
			p.failText.Show()
		}
		p.relayout()
	})
	p.failDetails.Importance = widget.LowImportance
	p.failDetails.Hide()
	return p
}

// Preview shows the digest of the next slot in a dialog.
func (p *digestPanel) Preview() {
	src := p.src
	p.preview.Disable()
	p.ui.Run(func() func() {
		d, err := src.NextDigest()
		return func() {
			p.preview.Enable()
			if err != nil {
				p.ui.ShowError("Digest preview", "The digest could not be prepared", err)
				return
			}
			p.showPreview(d)
		}
	})
}

func (p *digestPanel) showPreview(d core.Digest) {
	content := digestPreview(d, p.loc)
	dlg := dialog.NewCustom("Digest for "+d.Slot.UTC().Format(mail.SlotLayout), "Close", content, p.ui.Window())
	dlg.Resize(fyne.NewSize(640, 480))
	dlg.SetOnClosed(p.ui.OnEscape(dlg.Hide))
	p.shown = dlg
	dlg.Show()
}

// digestPreview renders a digest: subject, then the two key lists.
func digestPreview(d core.Digest, loc *time.Location) fyne.CanvasObject {
	subject := widget.NewLabelWithStyle(d.Subject(), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	subject.Wrapping = fyne.TextWrapWord
	objs := []fyne.CanvasObject{subject}
	if d.Empty() {
		objs = append(objs, widget.NewLabel("Nothing to send: no key expired in the window and none expires within 7 days of the slot."))
	}
	list := func(title string, keys []*core.Key) {
		objs = append(objs, widget.NewLabelWithStyle(fmt.Sprintf("%s (%d)", title, len(keys)), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}))
		if len(keys) == 0 {
			objs = append(objs, widget.NewLabel("None."))
			return
		}
		for _, l := range mail.Lines(keys) {
			lbl := widget.NewLabel(fmt.Sprintf("%s  ·  %s…  ·  %s  ·  %s", l.Name, l.Hint, l.Expiry(), l.ScopeCount()))
			lbl.Wrapping = fyne.TextWrapWord
			objs = append(objs, lbl)
		}
	}
	list("Expired since "+d.Since.UTC().Format(mail.SlotLayout), d.Expired)
	list("Expiring by "+d.Slot.Add(core.DigestLookahead).UTC().Format(mail.SlotLayout), d.Expiring)
	return container.NewVScroll(container.NewVBox(objs...))
}

// updateNextSlot shows the next 11:00 UTC slot in UTC and local time.
func (p *digestPanel) updateNextSlot() {
	now := p.src.Now()
	slot := core.NextSlot(now)
	text := "Next digest: " + slot.UTC().Format(mail.SlotLayout)
	if _, off := slot.In(p.loc).Zone(); off != 0 {
		text += " (" + slot.In(p.loc).Format("15:04 MST") + ")"
	}
	p.nextSlot.SetText(text + ", " + core.FormatRelative(slot, now) + ".")
}

// setStatus shows the digest scheduler's status; call it on the UI
// goroutine (the window does, through UI.Do).
func (p *digestPanel) setStatus(st mail.Status) {
	p.status = st
	p.render()
	p.relayout()
}

// render shows the last result and the next slot.
func (p *digestPanel) render() {
	text, imp := statusText(p.status, p.loc)
	p.lastResult.Importance = imp
	p.lastResult.SetText(text)
	if p.status.Last == mail.ResultFailed && p.status.LastError != "" {
		p.failText.SetText(p.status.LastError)
		p.failDetails.Show()
	} else {
		p.failText.Hide()
		p.failDetails.Hide()
	}
	p.updateNextSlot()
}

// statusText is the "last result" line for a scheduler status.
func statusText(st mail.Status, loc *time.Location) (string, widget.Importance) {
	slot := st.LastSlot.UTC().Format(mail.SlotLayout)
	at := st.LastTime.In(loc).Format("2006-01-02 15:04 MST")
	switch st.Last {
	case mail.ResultSent:
		return fmt.Sprintf("Last result: sent the digest for %s at %s.", slot, at), widget.SuccessImportance
	case mail.ResultNothing:
		return fmt.Sprintf("Last result: nothing to send for %s (checked %s).", slot, at), widget.MediumImportance
	case mail.ResultUpToDate:
		return fmt.Sprintf("Last result: the digest for %s was already delivered.", slot), widget.MediumImportance
	case mail.ResultNotConfigured:
		return "Last result: not sent, because e-mail is not set up yet.", widget.WarningImportance
	case mail.ResultFailed:
		// One plain sentence; the technical error is behind Details.
		text := fmt.Sprintf("Last result: the digest for %s could not be sent at %s", slot, at)
		if !st.RetryAt.IsZero() {
			text += fmt.Sprintf("; Keydesk tries again at %s", st.RetryAt.In(loc).Format("15:04 MST"))
		}
		return text + ". Details says why.", widget.DangerImportance
	}
	return "Last result: no digest attempted since Keydesk started.", widget.LowImportance
}
