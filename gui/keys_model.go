package gui

import (
	"cmp"
	"slices"
	"strings"
	"time"

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
	colActions
	numColumns
)

var columnTitles = [numColumns]string{"Name", "Scopes", "Key", "Created", "Expires", "Last used", ""}

// columnWidths are the initial widths of the columns, in Fyne units.
var columnWidths = [numColumns]float32{300, 84, 110, 120, 220, 130, 124}

// keyRow is one key as the table shows it, with what filtering and sorting
// need computed once.
type keyRow struct {
	key *core.Key
	// sortName is the lower-case name, for sorting.
	sortName string
	// search is the lower-case name, hint and scopes, separated by NUL so a
	// word never matches across two of them.
	search string
}

// newKeyRows builds the rows of keys. It allocates one string per key and is
// meant to run off the UI goroutine.
func newKeyRows(keys []*core.Key) []*keyRow {
	rows := make([]*keyRow, len(keys))
	var b strings.Builder
	for i, k := range keys {
		name := strings.ToLower(k.Name)
		b.Reset()
		b.WriteString(name)
		b.WriteByte(0)
		b.WriteString(strings.ToLower(k.Hint))
		for _, s := range k.Scopes {
			b.WriteByte(0)
			b.WriteString(strings.ToLower(s))
		}
		rows[i] = &keyRow{key: k, sortName: name, search: b.String()}
	}
	return rows
}

// keyModel is the keys table's data: every row in the current sort order and
// the rows that match the search query. It is used only on the UI goroutine.
type keyModel struct {
	rows  []*keyRow // every key, sorted
	shown []*keyRow // rows matching the query, in sort order
	words []string  // the lower-cased words of the query

	sortCol  column
	sortDesc bool
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
	m.words = strings.Fields(strings.ToLower(q))
	m.filter()
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
	// A new slice: the previous one may be m.rows.
	shown := make([]*keyRow, 0, min(len(m.rows), 1024))
next:
	for _, r := range m.rows {
		for _, w := range m.words {
			if !strings.Contains(r.search, w) {
				continue next
			}
		}
		shown = append(shown, r)
	}
	m.shown = shown
}

func (m *keyModel) sort() {
	cmpCol := columnCompare(m.sortCol)
	desc := m.sortDesc
	slices.SortFunc(m.rows, func(a, b *keyRow) int {
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
	})
}

func columnCompare(c column) func(a, b *keyRow) int {
	switch c {
	case colName:
		return func(a, b *keyRow) int { return strings.Compare(a.sortName, b.sortName) }
	case colScopes:
		return func(a, b *keyRow) int { return cmp.Compare(len(a.key.Scopes), len(b.key.Scopes)) }
	case colKey:
		return func(a, b *keyRow) int { return strings.Compare(a.key.Hint, b.key.Hint) }
	case colExpires:
		return func(a, b *keyRow) int { return a.key.ExpiresAt.Compare(b.key.ExpiresAt) }
	case colLastUsed:
		return func(a, b *keyRow) int { return a.key.LastUsedAt.Compare(b.key.LastUsedAt) }
	}
	return func(a, b *keyRow) int { return a.key.CreatedAt.Compare(b.key.CreatedAt) }
}

// keys returns every key (not only the shown ones).
func (m *keyModel) keys() []*core.Key {
	out := make([]*core.Key, len(m.rows))
	for i, r := range m.rows {
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
)

func formatDate(t time.Time, loc *time.Location) string { return t.In(loc).Format(dateLayout) }

func formatDateTime(t time.Time, loc *time.Location) string {
	return t.In(loc).Format(dateTimeLayout)
}

func formatUTC(t time.Time) string { return t.UTC().Format(utcLayout) }
