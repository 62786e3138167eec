package gui

import (
	"cmp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/keydesk/keydesk/core"
)

// column is a column of the keys table.
type column int

// The columns of the keys table, in display order.
const (
	colName column = iota
	colScopes
	colKey
	colCreated
	colExpires
	colLastUsed
	colRequests
	colActions
	numColumns
)

var columnTitles = [numColumns]string{"Name", "Scopes", "Key", "Created", "Expires", "Last used", "Requests (30 d)", ""}

// columnWidths are the preferred widths of the columns, in Fyne units; the
// Name column's is its width before the table knows its own.
var columnWidths = [numColumns]float32{300, 96, 110, 120, 220, 130, 130, 160}

// columnMinWidths are the narrowest the columns get before one folds. The
// actions never shrink; a header also keeps room for its title and the sort
// arrow (see fitColumns).
var columnMinWidths = [numColumns]float32{160, 96, 104, 110, 176, 116, 110, 160}

// foldOrder is the order columns hide in when the window is too narrow for
// all of them at their minimum widths: Name and the actions always stay.
// Expires goes last, when only the details panel leaves the table that
// little room (the panel shows the dates).
var foldOrder = []column{colCreated, colKey, colScopes, colRequests, colLastUsed, colExpires}

// fitColumns returns the columns shown in a table avail wide and their
// widths: the Name column takes what the others leave; the others shrink
// from their preferred width towards their minimum, evenly, and fold in
// foldOrder when even their minimum widths do not fit. gap is the space
// between two columns; minOf is the minimum width of a column. The columns
// in skip are never shown (Requests without a usage store).
func fitColumns(avail, gap float32, minOf func(column) float32, skip ...column) ([]column, []float32) {
	hidden := map[column]bool{}
	for _, c := range skip {
		hidden[c] = true
	}
	for i := 0; ; i++ {
		var cols []column
		for c := colName; c < numColumns; c++ {
			if !hidden[c] {
				cols = append(cols, c)
			}
		}
		var pref, low float32
		for _, c := range cols[1:] {
			pref += max(columnWidths[c], minOf(c))
			low += minOf(c)
		}
		room := avail - gap*float32(len(cols)-1) - minOf(colName)
		if low > room && i < len(foldOrder) {
			hidden[foldOrder[i]] = true
			continue
		}
		// 1 at or above the preferred widths, 0 at the minimum ones.
		f := float32(1)
		if pref > room && pref > low {
			f = max(0, (room-low)/(pref-low))
		}
		widths := make([]float32, len(cols))
		var used float32
		for j, c := range cols[1:] {
			lo := minOf(c)
			w := float32(int(lo + f*(max(columnWidths[c], lo)-lo)))
			widths[j+1] = w
			used += w
		}
		widths[0] = max(minOf(colName), avail-gap*float32(len(cols)-1)-used)
		return cols, widths
	}
}

// keyRow is one key as the table shows it, with what filtering and sorting
// need computed at most once.
type keyRow struct {
	key *core.Key
	// link is the row of the key this one was rolled to (or from) when
	// that key is among the rows, else nil; newKeyRows sets it once, so
	// that a cell update does not search the rows for it (linkText).
	link *keyRow
	// search is the lower-case name, hint and scopes, separated by NUL so a
	// word never matches across two of them; "" until computed (see text).
	// It starts with the lower-case name, which sorting by name uses.
	search string
	// requests counts the key's uses in the last 30 days, deniedRecent
	// its denied attempts in the last core.DeniedRecentDays (usageRead).
	requests, deniedRecent uint64
}

// text returns the row's search string, building it on first use.
// Rows the UI shows are only written on the UI goroutine.
func (r *keyRow) text() string {
	if r.search == "" {
		r.search = searchString(r.key)
	}
	return r.search
}

// sortName returns the lower-case name, for sorting.
func (r *keyRow) sortName() string {
	s := r.text()
	if i := strings.IndexByte(s, 0); i >= 0 {
		return s[:i]
	}
	return s
}

// searchString is the lower-case name, hint and scopes of k separated by
// NUL; it is never "" (it holds at least the NUL after the name).
func searchString(k *core.Key) string {
	var b strings.Builder
	b.Grow(searchLen(k))
	writeSearch(&b, k)
	return b.String()
}

// searchStrings sets out[i] to the search string of rows[i], all of them
// in one allocation: a string each cost 100,000 allocations at 100,000
// keys, each rounded up to its size class. The rows of a load are kept
// and replaced together, and so are their strings.
func searchStrings(rows []*keyRow, out []string) {
	n := 0
	for _, r := range rows {
		n += searchLen(r.key)
	}
	var b strings.Builder
	b.Grow(n) // lower-casing non-ASCII text may need more: the builder grows
	for i, r := range rows {
		start := b.Len()
		writeSearch(&b, r.key)
		out[i] = b.String()[start:] // a builder never changes what it wrote
	}
}

// searchLen is the length of k's search string when its text is ASCII.
func searchLen(k *core.Key) int {
	n := len(k.Name) + 1 + len(k.Hint)
	for _, s := range k.Scopes {
		n += 1 + len(s)
	}
	return n
}

// writeSearch writes k's search string to b.
func writeSearch(b *strings.Builder, k *core.Key) {
	lowerInto(b, k.Name)
	b.WriteByte(0)
	lowerInto(b, k.Hint)
	for _, s := range k.Scopes {
		b.WriteByte(0)
		lowerInto(b, s)
	}
}

// lowerInto writes the lower case of s to b without an intermediate string
// for ASCII text (names, hints and scopes nearly always are).
func lowerInto(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			b.WriteString(strings.ToLower(s))
			return
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
}

// newKeyRows builds the rows of keys, in one allocation. The search strings
// are left to be computed later (searchJob) or on first use.
func newKeyRows(keys []*core.Key) []*keyRow {
	backing := make([]keyRow, len(keys))
	rows := make([]*keyRow, len(keys))
	var peers map[string]*keyRow // the rows rolled to or from, by id
	for i, k := range keys {
		backing[i].key = k
		rows[i] = &backing[i]
		if id := rollPeer(k); id != "" {
			if peers == nil {
				peers = map[string]*keyRow{}
			}
			peers[id] = nil
		}
	}
	if peers != nil {
		for _, r := range rows {
			if _, ok := peers[r.key.ID]; ok {
				peers[r.key.ID] = r
			}
		}
		for _, r := range rows {
			if id := rollPeer(r.key); id != "" {
				r.link = peers[id]
			}
		}
	}
	return rows
}

// rollPeer is the id of the key k was rolled to, else of the key it was
// rolled from, else "".
func rollPeer(k *core.Key) string {
	if k.RolledTo != "" {
		return k.RolledTo
	}
	return k.RolledFrom
}

// searchJob computes the search strings of rows in chunks that background
// goroutines and the UI goroutine claim in turn: a search typed before the
// background is done helps finish the job instead of starting over, and
// never waits for work nobody has started.
type searchJob struct {
	rows    []*keyRow // a copy: sorting the model's rows does not move these
	out     []string  // out[i] is the search string of rows[i]
	chunks  int64
	next    atomic.Int64 // the next chunk to claim
	left    atomic.Int64 // chunks not finished
	done    chan struct{}
	applied bool // the strings are in the rows (UI goroutine only)
}

// searchChunk is how many rows a claim computes.
const searchChunk = 2048

func newSearchJob(rows []*keyRow) *searchJob {
	j := &searchJob{rows: slices.Clone(rows), out: make([]string, len(rows)), done: make(chan struct{})}
	j.chunks = int64((len(rows) + searchChunk - 1) / searchChunk)
	j.left.Store(j.chunks)
	if j.chunks == 0 {
		close(j.done)
	}
	return j
}

// work computes chunks until none is left to claim. It only reads the rows,
// so it may run on any goroutine.
func (j *searchJob) work() {
	for {
		c := j.next.Add(1) - 1
		if c >= j.chunks {
			return
		}
		lo := int(c) * searchChunk
		hi := min(lo+searchChunk, len(j.rows))
		searchStrings(j.rows[lo:hi], j.out[lo:hi])
		if j.left.Add(-1) == 0 {
			close(j.done)
		}
	}
}

// run computes the strings on every CPU and returns when all are computed.
func (j *searchJob) run() {
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), int(j.chunks)) {
		wg.Go(j.work)
	}
	wg.Wait()
	<-j.done
}

// apply stores the computed strings in the rows, helping to compute the rest
// first; rows that computed theirs meanwhile keep them. It runs on the UI
// goroutine.
func (j *searchJob) apply() {
	if j.applied {
		return
	}
	j.work()
	<-j.done // every chunk is claimed: the others are being computed
	for i, r := range j.rows {
		if r.search == "" {
			r.search = j.out[i]
		}
	}
	j.applied = true
	j.out = nil
}

// keyModel is the keys table's data: every row in the current sort order and
// the rows that match the search query. It is used only on the UI goroutine.
type keyModel struct {
	rows  []*keyRow // every key, sorted
	shown []*keyRow // rows matching the query, in sort order
	words []string  // the lower-cased words of the query

	sortCol  column
	sortDesc bool

	// now is the time the word "idle" in a query is matched at: it
	// matches the keys idle then (core.Key.IsIdle) as well as text.
	now time.Time

	// search, while not nil, is computing the rows' search strings.
	search *searchJob
}

// searchReady makes sure every row has its search string: it finishes the
// background job (if any) rather than compute the strings one by one.
func (m *keyModel) searchReady() {
	if m.search != nil {
		m.search.apply()
		m.search = nil
	}
}

// setRows replaces the rows, sorts and filters them.
func (m *keyModel) setRows(rows []*keyRow) {
	m.rows = rows
	m.sort()
	m.filter()
}

// setQuery filters the rows by a search query: every word must occur in the
// name, hint or a scope (case-insensitive).
func (m *keyModel) setQuery(q string) {
	prev := m.words
	m.words = strings.Fields(strings.ToLower(q))
	if len(m.words) > 0 {
		m.searchReady()
	}
	if len(prev) > 0 && !slices.Contains(m.words, idleWord) && !slices.Contains(m.words, deniedWord) && refines(m.words, prev) {
		// Typing on: only rows that matched can still match.
		m.shown = matching(m.shown, m.words, m.now)
		return
	}
	m.filter()
}

// refines reports whether every row matching words also matches prev: each
// word of prev occurs in some word of words.
func refines(words, prev []string) bool {
	for _, p := range prev {
		if !slices.ContainsFunc(words, func(w string) bool { return strings.Contains(w, p) }) {
			return false
		}
	}
	return true
}

// setSort sorts by a column.
func (m *keyModel) setSort(c column, desc bool) {
	m.sortCol, m.sortDesc = c, desc
	m.sort()
	m.filter()
}

func (m *keyModel) filter() {
	if len(m.words) == 0 {
		m.shown = m.rows
		return
	}
	m.searchReady()
	m.shown = matching(m.rows, m.words, m.now)
}

// idleWord is the query word that also matches idle keys.
const idleWord = "idle"

// deniedWord is the query word that also matches the keys with denied
// attempts in the last core.DeniedRecentDays.
const deniedWord = "denied"

// matching returns, in a new slice, the rows whose search string contains
// every word; the word "idle" also matches the keys idle at now, and
// "denied" the keys with recent denied attempts.
func matching(rows []*keyRow, words []string, now time.Time) []*keyRow {
	out := make([]*keyRow, 0, min(len(rows), 1024))
next:
	for _, r := range rows {
		s := r.text()
		for _, w := range words {
			if !strings.Contains(s, w) && (w != idleWord || !r.key.IsIdle(now)) && (w != deniedWord || r.deniedRecent == 0) {
				continue next
			}
		}
		out = append(out, r)
	}
	return out
}

// sort sorts the rows unless they are in order already (core.Service.List
// returns them newest first, the default order).
func (m *keyModel) sort() {
	cmpCol := columnCompare(m.sortCol)
	desc := m.sortDesc
	less := func(a, b *keyRow) int {
		c := cmpCol(a, b)
		if desc {
			c = -c
		}
		if c != 0 {
			return c
		}
		// Ties: newest first, then by id, so the order is stable.
		if c := b.key.CreatedAt.Compare(a.key.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.key.ID, b.key.ID)
	}
	if slices.IsSortedFunc(m.rows, less) {
		return
	}
	if m.sortCol == colName {
		m.searchReady()
		for _, r := range m.rows {
			r.text()
		}
	}
	slices.SortFunc(m.rows, less)
}

func columnCompare(c column) func(a, b *keyRow) int {
	switch c {
	case colName:
		return func(a, b *keyRow) int { return strings.Compare(a.sortName(), b.sortName()) }
	case colScopes:
		return func(a, b *keyRow) int { return cmp.Compare(len(a.key.Scopes), len(b.key.Scopes)) }
	case colKey:
		return func(a, b *keyRow) int { return strings.Compare(a.key.Hint, b.key.Hint) }
	case colExpires:
		return func(a, b *keyRow) int { return a.key.ExpiresAt.Compare(b.key.ExpiresAt) }
	case colLastUsed:
		return func(a, b *keyRow) int { return a.key.LastUsedAt.Compare(b.key.LastUsedAt) }
	case colRequests:
		return func(a, b *keyRow) int { return cmp.Compare(a.requests, b.requests) }
	}
	return func(a, b *keyRow) int { return a.key.CreatedAt.Compare(b.key.CreatedAt) }
}

// keys returns every key (not only the shown ones).
func (m *keyModel) keys() []*core.Key { return rowKeys(m.rows) }

func rowKeys(rows []*keyRow) []*core.Key {
	out := make([]*core.Key, len(rows))
	for i, r := range rows {
		out[i] = r.key
	}
	return out
}

// find returns the row of a key id, or nil.
func (m *keyModel) find(id string) *keyRow {
	for _, r := range m.rows {
		if r.key.ID == id {
			return r
		}
	}
	return nil
}

// Formatting of dates in the table.
const (
	dateLayout     = "2 Jan 2006"
	dateTimeLayout = "2 Jan 2006 15:04"
	utcLayout      = "2006-01-02 15:04:05 UTC"
	// longLayout names the weekday and the zone (tooltips, dialogs).
	longLayout = "Mon 2 Jan 2006 15:04 MST"
)

func formatDate(t time.Time, loc *time.Location) string { return t.In(loc).Format(dateLayout) }

func formatDateTime(t time.Time, loc *time.Location) string {
	return t.In(loc).Format(dateTimeLayout)
}

// formatLong is t in loc with its weekday and zone: "Mon 2 Jan 2006 15:04 CET".
func formatLong(t time.Time, loc *time.Location) string { return t.In(loc).Format(longLayout) }

func formatUTC(t time.Time) string { return t.UTC().Format(utcLayout) }

// formatCount is n with thousands separators: "12,345".
func formatCount(n uint64) string {
	s := strconv.FormatUint(n, 10)
	var b strings.Builder
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
