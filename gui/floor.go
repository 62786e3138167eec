package gui

import "fyne.io/fyne/v2"

// windowFloor lays out the window's content (one object, the whole size)
// and keeps it large enough that the window is at least
// minWindowWidth×minWindowHeight, and no larger: the window adds its menu
// bar and padding around the content (the chrome), so a floor of
// minWindowWidth×minWindowHeight on the content alone made the smallest
// window 808×536 under GLFW, which grew to that size from 800×500 at the
// first relayout. The chrome is the canvas's size less the content's, read
// at each layout (0 until the first one, and on the test driver).
type windowFloor struct {
	chrome fyne.Size
}

// Layout gives the content the whole size and notes the chrome.
func (f *windowFloor) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objs {
		o.Move(fyne.NewPos(0, 0))
		o.Resize(size)
	}
	if len(objs) == 0 || size.IsZero() {
		return
	}
	if c := fyne.CurrentApp().Driver().CanvasForObject(objs[0]); c != nil {
		cs := c.Size()
		f.chrome = fyne.NewSize(max(0, cs.Width-size.Width), max(0, cs.Height-size.Height))
	}
}

// MinSize is the content's, and at least the smallest window less the
// chrome.
func (f *windowFloor) MinSize(objs []fyne.CanvasObject) fyne.Size {
	m := fyne.NewSize(max(0, minWindowWidth-f.chrome.Width), max(0, minWindowHeight-f.chrome.Height))
	for _, o := range objs {
		m = m.Max(o.MinSize())
	}
	return m
}
