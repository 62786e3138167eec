package gui

import (
	"fmt"
	"runtime/debug"
	"slices"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/gui/widgets"
)

// keysView is the main screen: the table of keys with its search box, counts
// and the Create API Key button, and the dialogs opened from it.
type keysView struct {
	widget.BaseWidget
	env *uiEnv
	svc keysService
	// audit is where the details panel reads a key's audit entries; nil
	// shows none.
	audit auditSource
	// usage is where the Requests column and the Denied badge read usage
	// counts; nil hides the column.
	usage core.UsageStore
	// usageRead is set while the rows hold counts read from usage: the
	// column reads "none" for an unused key only then.
	usageRead bool
	// usageShared is set when usage is a shared store: the details say
	// how many servers reported the counts.
	usageShared bool

	model  keyModel
	stats  core.Stats // counts of every key at now
	now    time.Time  // the time expiry and relative times are shown for
	loaded bool
	// checking is the note after the counts while the data folder's
	// checks run (setChecking); empty when none.
	checking string
	// afterRowsRead, if set, runs (off the UI goroutine) once the next
	// load has read its rows, then is cleared: watchChecks starts the data
	// folder's checks there, so that they do not compete with the load.
	afterRowsRead func()

	table *keysTable
	// cols are the columns the table shows, in order (see fitColumns).
	cols    []column
	search  *widgets.EscEntry
	counts  *widget.Label
	create  *widgets.EscButton
	empty   *fyne.Container
	noMatch *widget.Label
	loading *widget.Label
	tips    *widgets.TipLayer
	content fyne.CanvasObject

	// selected is the id of the key whose row is selected; its cells
	// are all highlighted.
	selected string
	// selecting is set while the window selects a row itself (a created
	// key, a roll link): that does not open the details.
	selecting bool
	// details is the details panel while it is open (a click on a row
	// opens it); panelSlot holds it beside the table, in body; panelEsc
	// gives Esc back when it closes.
	details   *detailsPanel
	panelSlot *fyne.Container
	body      *fyne.Container
	panelEsc  func()
	// reveal is the id of a key just created: the next load selects its
	// row and scrolls it into view.
	reveal string
	// refused is set once the data folder's records were found forged
	// (refuseChanges): creating, editing, rolling and deleting are off.
	refused bool
	// emptyCreate is the empty state's Create API Key button.
	emptyCreate *widgets.EscButton
	// creating and secret are the create and secret dialogs while open.
	creating *createDialog
	secret   *secretDialog

	// onTableShown is called once, when the first row of keys is laid out
	// (the start-up trace of make perf-gui).
	onTableShown func()
	tableShown   bool
	// onError, if set, is called with each error dialog shown (tests).
	onError func(*errorDialog)
	// onFiltered is called after each search refilter with its duration.
	onFiltered func(shown int, d time.Duration)
}

// newKeysView returns the keys screen; call reload to load the keys.
func newKeysView(svc keysService, env *uiEnv) *keysView {
	v := &keysView{env: env, svc: svc, tips: widgets.NewTipLayer()}
	for c := colName; c < numColumns; c++ {
		v.cols = append(v.cols, c)
	}
	v.model.sortCol, v.model.sortDesc = env.prefs.sort()

	v.search = widgets.NewEscEntry()
	v.search.SetPlaceHolder("Search by name, key or scope, or type idle or denied  (Ctrl+F)")
	v.search.ActionItem = widget.NewIcon(theme.SearchIcon())
	v.search.OnChanged = v.setQuery
	v.search.OnEscape = v.searchEscape

	v.create = v.env.button("Create API Key", theme.ContentAddIcon(), func() { v.openCreate(nil) })
	v.create.Importance = widget.HighImportance

	v.counts = widget.NewLabel("")

	v.table = newKeysTable(v)

	v.noMatch = widget.NewLabel("")
	v.noMatch.Alignment = fyne.TextAlignCenter
	v.noMatch.Hide()
	v.loading = widget.NewLabel("Loading keys…")
	v.loading.Alignment = fyne.TextAlignCenter
	v.empty = v.emptyState()
	v.empty.Hide()

	heading := boldLabel("Company API Keys")
	heading.SizeName = theme.SizeNameSubHeadingText
	top := newBorder(nil, nil, heading, v.create, v.search)
	head := container.NewVBox(top, v.counts)
	tableArea := container.NewStack(v.table, container.NewCenter(v.noMatch), container.NewCenter(v.loading), v.empty)
	v.panelSlot = container.NewStack()
	v.panelSlot.Hide()
	v.body = container.New(sidePanelLayout{}, tableArea, v.panelSlot)
	v.content = newBorder(head, nil, nil, nil, container.NewStack(v.body, v.tips))
	v.ExtendBaseWidget(v)
	return v
}

// CreateRenderer returns the screen's renderer.
func (v *keysView) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(v.content)
}

func (v *keysView) emptyState() *fyne.Container {
	icon := widget.NewIcon(keyIcon)
	title := widget.NewLabelWithStyle("No API keys yet", fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	title.SizeName = theme.SizeNameSubHeadingText
	text := widget.NewLabel("API keys let servers, scripts, third-party apps and background services call the " +
		"company's APIs without a user login. Each key has a name, an expiry and exactly the permissions it needs; " +
		"its secret is shown once, when you create it.")
	text.Wrapping = fyne.TextWrapWord
	text.Alignment = fyne.TextAlignCenter
	btn := v.env.button("Create API Key", theme.ContentAddIcon(), func() { v.openCreate(nil) })
	btn.Importance = widget.HighImportance
	v.emptyCreate = btn
	iconBox := container.NewCenter(container.NewGridWrap(fyne.NewSquareSize(64), icon))
	box := container.NewVBox(iconBox, title, text, container.NewCenter(btn))
	return container.NewCenter(container.NewGridWrap(fyne.NewSize(460, box.MinSize().Height+60), box))
}

// reload reads the keys off the UI goroutine and shows them.
func (v *keysView) reload() {
	col, desc := v.model.sortCol, v.model.sortDesc
	after := v.afterRowsRead
	v.afterRowsRead = nil
	v.env.bg.run(func() func() {
		l := v.loadRows(col, desc)
		trace("rows-ready")
		if after != nil {
			after()
		}
		return func() { v.setRows(l) }
	})
}

// loadedKeys is what reload reads off the UI goroutine.
type loadedKeys struct {
	rows  []*keyRow
	now   time.Time
	stats core.Stats
	// usageRead is set when the rows hold usage counts read from the
	// usage store.
	usageRead bool
}

// loadRows reads the keys, sorts their rows and counts them; it runs off
// the UI goroutine. The search strings are computed after the table is
// shown (setRows). setRows sorts again in case the sort order changed
// meanwhile; that only checks the order when it did not.
func (v *keysView) loadRows(col column, desc bool) loadedKeys {
	keys := v.svc.List()
	m := keyModel{rows: newKeyRows(keys), sortCol: col, sortDesc: desc}
	now := v.svc.Now()
	u, uerr := readUsageTotals(v.usage, now)
	u.apply(m.rows)
	m.sort()
	return loadedKeys{rows: m.rows, now: now, stats: core.CountStats(keys, now), usageRead: u != nil && uerr == nil}
}

func (v *keysView) setRows(l loadedKeys) {
	first := !v.loaded
	v.loaded = true
	v.now, v.stats = l.now, l.stats
	v.usageRead = l.usageRead
	v.model.now = l.now
	// The search strings, off the UI goroutine; a search typed (or already
	// in the box) before they are ready helps to finish them.
	job := newSearchJob(l.rows)
	v.model.search = job
	v.env.bg.run(func() func() {
		job.run()
		return func() {
			job.apply()
			if v.model.search == job {
				v.model.search = nil
			}
			if first {
				// Opening a large store leaves its decoding garbage
				// behind; hand that memory back to the OS once, off
				// the UI goroutine, rather than keep the start-up peak
				// resident for the whole session.
				v.env.bg.run(func() func() {
					debug.FreeOSMemory()
					traceMemory("after-load")
					return nil
				})
			}
		}
	})
	v.model.setRows(l.rows)
	v.refresh()
	v.updateDetails()
	if id := v.reveal; id != "" {
		v.reveal = ""
		v.revealKey(id)
	}
}

// revealKey selects the row of key id and scrolls it into view, clearing
// a search that hides it.
func (v *keysView) revealKey(id string) {
	find := func() int {
		return slices.IndexFunc(v.model.shown, func(r *keyRow) bool { return r.key.ID == id })
	}
	i := find()
	if i < 0 && v.search.Text != "" {
		v.search.SetText("")
		i = find()
	}
	if i < 0 {
		return
	}
	cell := widget.TableCellID{Row: i, Col: 0}
	v.selecting = true
	v.table.Select(cell)
	v.selecting = false
	v.table.ScrollTo(cell)
}

// tick re-renders relative times and expiry for the current time.
func (v *keysView) tick() {
	if !v.loaded {
		return
	}
	v.now = v.svc.Now()
	v.model.now = v.now
	v.stats = core.CountStats(v.model.keys(), v.now)
	v.refresh()
}

func (v *keysView) setQuery(q string) {
	start := time.Now()
	v.model.setQuery(q)
	if v.selected != "" {
		v.table.UnselectAll()
		v.selected = ""
	}
	v.table.ScrollToOffset(fyne.Position{})
	v.refresh()
	if v.onFiltered != nil {
		v.onFiltered(len(v.model.shown), time.Since(start))
	}
}

func (v *keysView) sortBy(c column) {
	desc := false
	if c == v.model.sortCol {
		desc = !v.model.sortDesc
	} else {
		switch c {
		case colScopes, colCreated, colLastUsed, colRequests:
			desc = true // most first, newest first
		}
	}
	v.model.setSort(c, desc)
	v.env.prefs.setSort(c, desc)
	v.refresh()
}

// refresh shows the model: counts, empty state, table. It refreshes only
// the widgets it changes (each keystroke in the search box comes here).
func (v *keysView) refresh() {
	setVisible(v.loading, !v.loaded)
	stats := v.countsText()
	noKeys := v.loaded && len(v.model.rows) == 0
	setVisible(v.empty, noKeys)
	setVisible(v.table, !noKeys)
	setVisible(v.search, !noKeys)
	setVisible(v.counts, v.loaded && !noKeys)
	if v.counts.Text != stats {
		v.counts.SetText(stats)
	}
	if v.loaded && !noKeys && len(v.model.shown) == 0 {
		v.noMatch.SetText(fmt.Sprintf("No key matches “%s”.", v.search.Text))
		setVisible(v.noMatch, true)
	} else {
		setVisible(v.noMatch, false)
	}
	v.tips.HideTip()
	v.table.Refresh()
}

// setChecking shows note (empty: none) after the counts, for the data
// folder's checks that run once the table is shown (see watchChecks).
func (v *keysView) setChecking(note string) {
	if v.checking == note {
		return
	}
	v.checking = note
	if text := v.countsText(); v.loaded && v.counts.Text != text {
		v.counts.SetText(text)
	}
}

// countsText is the counts line: the keys by state, how many the search
// shows, and the note of setChecking.
func (v *keysView) countsText() string {
	stats := v.stats.String()
	if len(v.model.words) > 0 {
		stats = fmt.Sprintf("%d shown of %s", len(v.model.shown), stats)
	}
	if v.checking != "" {
		stats += " · " + v.checking
	}
	return stats
}

// searchEscape is Esc in the search box: it clears the search if there is
// one, else does what Esc does elsewhere in the window (closes the details
// panel when it is open).
func (v *keysView) searchEscape() {
	if v.search.Text != "" {
		v.search.SetText("")
		return
	}
	v.env.escape()
}

// focusSearch puts the cursor in the search box (Ctrl+F).
func (v *keysView) focusSearch() {
	if !v.search.Hidden {
		v.env.win.Canvas().Focus(v.search)
	}
}

// refuseChanges turns off creating, editing, rolling and deleting keys:
// the buttons are disabled, in the table's rows and the details panel
// too, and the dialogs do not open. The store refuses every change once
// its records were found forged.
func (v *keysView) refuseChanges() {
	if v.refused {
		return
	}
	v.refused = true
	v.create.Disable()
	v.emptyCreate.Disable()
	v.table.Refresh()
	if d := v.details; d != nil {
		if r := v.model.find(d.key.ID); r != nil {
			v.showDetails(r)
		}
	}
}

// deleteSelected asks to delete the selected key (the Delete key).
func (v *keysView) deleteSelected() {
	if r := v.model.find(v.selected); r != nil {
		v.confirmDelete(r)
	}
}

// keysTable is the table of keys; it adds the Delete key to widget.Table.
type keysTable struct {
	widget.Table
	v *keysView
}

func newKeysTable(v *keysView) *keysTable {
	t := &keysTable{v: v}
	t.Length = func() (int, int) { return len(v.model.shown), len(v.cols) }
	t.CreateCell = func() fyne.CanvasObject { return newKeyCell(v) }
	t.UpdateCell = func(id widget.TableCellID, o fyne.CanvasObject) {
		if id.Row < 0 || id.Row >= len(v.model.shown) || id.Col < 0 || id.Col >= len(v.cols) {
			return
		}
		o.(*keyCell).update(v, v.model.shown[id.Row], v.cols[id.Col])
		if !v.tableShown && v.loaded {
			v.tableShown = true
			if v.onTableShown != nil {
				v.onTableShown()
			}
		}
	}
	t.ShowHeaderRow = true
	t.CreateHeader = func() fyne.CanvasObject { return newHeaderCell() }
	t.UpdateHeader = func(id widget.TableCellID, o fyne.CanvasObject) {
		if id.Col >= 0 && id.Col < len(v.cols) {
			o.(*headerCell).update(v, v.cols[id.Col])
		}
	}
	t.OnSelected = func(id widget.TableCellID) {
		if id.Row < 0 || id.Row >= len(v.model.shown) {
			return
		}
		r := v.model.shown[id.Row]
		changed := v.selected != r.key.ID
		v.selected = r.key.ID
		if changed {
			t.Refresh() // the whole row shows as selected
		}
		// A click on the actions column runs its button, not the details.
		if !v.selecting && (id.Col < 0 || id.Col >= len(v.cols) || v.cols[id.Col] != colActions) {
			v.showDetails(r)
		}
		// The row's cells show the selection (keyCell.showSelected); the
		// table forgets its one selected cell, so a second click on the
		// same cell opens the details again.
		t.UnselectAll()
	}
	t.ExtendBaseWidget(t)
	for c, w := range columnWidths {
		t.SetColumnWidth(c, w)
	}
	return t
}

// Resize fits the columns to the new width before laying the table out:
// Name takes what is left, the others shrink or fold, and the actions stay
// in view (see fitColumns).
func (t *keysTable) Resize(s fyne.Size) {
	t.fit(s.Width)
	t.Table.Resize(s)
}

// fit chooses the columns shown and their widths for a table w wide.
func (t *keysTable) fit(w float32) {
	th := t.Theme()
	gap := th.Size(theme.SizeNamePadding)
	// The vertical scroll bar floats over the last column; keep the
	// actions clear of it.
	avail := w - th.Size(theme.SizeNameScrollBar)
	v := t.v
	var skip []column
	if v.usage == nil {
		skip = append(skip, colRequests)
	}
	cols, widths := fitColumns(avail, gap, func(c column) float32 { return columnMinWidth(th, c) }, skip...)
	changed := len(cols) != len(v.cols)
	for i := range cols {
		if !changed && cols[i] != v.cols[i] {
			changed = true
		}
	}
	v.cols = cols
	for i, w := range widths {
		t.SetColumnWidth(i, w)
	}
	if changed {
		v.tips.HideTip()
		t.Refresh()
	}
}

// columnMinWidth is the narrowest column c gets: its minimum width, and
// never less than its header's title beside the sort arrow, so a sorted
// header does not shrink to "Sco…".
func columnMinWidth(th fyne.Theme, c column) float32 {
	title := fyne.MeasureText(columnTitles[c], th.Size(theme.SizeNameText), fyne.TextStyle{Bold: true}).Width
	header := title + th.Size(theme.SizeNameInlineIcon) + 2*th.Size(theme.SizeNameInnerPadding) + th.Size(theme.SizeNamePadding) + 2
	return max(columnMinWidths[c], float32(int(header+0.99)))
}

// TypedKey asks to delete the selected key on Delete and closes the
// details on Esc; other keys move the selection as in widget.Table.
func (t *keysTable) TypedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeyDelete:
		t.v.deleteSelected()
		return
	case fyne.KeyEscape:
		t.v.env.escape()
		return
	}
	t.Table.TypedKey(ev)
}

// headerCell is a column header of the keys table.
type headerCell struct {
	widgets.HeaderCell
	// shown is what the header shows (its column, the sort) once updated
	// is set.
	shown   headerState
	updated bool
}

// headerState is what a header cell shows: its column and whether and
// which way the table is sorted by it.
type headerState struct {
	col          column
	sorted, desc bool
	width        float32
}

func newHeaderCell() *headerCell {
	h := &headerCell{}
	h.ExtendBaseWidget(h)
	return h
}

// update shows the header of column c. It refreshes the header only when
// its column or the sort changed: the table updates every header on each
// refresh, one per keystroke in the search box.
func (h *headerCell) update(v *keysView, c column) {
	state := headerState{col: c, sorted: v.model.sortCol == c, desc: v.model.sortDesc, width: h.Size().Width}
	if !state.sorted {
		state.desc = false
	}
	if h.updated && h.shown == state {
		return
	}
	h.shown, h.updated = state, true
	h.OnTap = nil
	title := columnTitles[c]
	if c == colActions {
		title = "Actions"
		state.sorted = false
	} else {
		h.OnTap = func() { v.sortBy(c) }
	}
	h.Set(title, state.sorted, state.desc)
}
