package widgets

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"
)

// EscEntry is an entry that hands the Esc key to OnEscape (a dialog closes
// on Esc even while the cursor is in one of its fields; a plain entry keeps
// the key to itself).
type EscEntry struct {
	widget.Entry
	// OnEscape runs when Esc is typed in the entry; nil ignores it.
	OnEscape func()
}

// NewEscEntry returns an empty single-line entry.
func NewEscEntry() *EscEntry {
	e := &EscEntry{}
	e.ExtendBaseWidget(e)
	return e
}

// TypedKey runs OnEscape on Esc; other keys edit the text as in
// widget.Entry.
func (e *EscEntry) TypedKey(k *fyne.KeyEvent) {
	if k.Name == fyne.KeyEscape && e.OnEscape != nil {
		e.OnEscape()
		return
	}
	e.Entry.TypedKey(k)
}

// EscDateEntry is a date entry with a calendar drop-down that hands the Esc
// key to OnEscape, as EscEntry does.
type EscDateEntry struct {
	widget.DateEntry
	// OnEscape runs when Esc is typed in the entry; nil ignores it.
	OnEscape func()
}

// NewEscDateEntry returns an empty date entry.
func NewEscDateEntry() *EscDateEntry {
	e := &EscDateEntry{}
	e.ExtendBaseWidget(e)
	e.Wrapping = fyne.TextWrap(fyne.TextTruncateClip)
	return e
}

// TypedKey runs OnEscape on Esc; other keys edit the text as in
// widget.DateEntry.
func (e *EscDateEntry) TypedKey(k *fyne.KeyEvent) {
	if k.Name == fyne.KeyEscape && e.OnEscape != nil {
		e.OnEscape()
		return
	}
	e.DateEntry.TypedKey(k)
}
