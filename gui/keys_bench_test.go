package gui

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/gui/internal/guitest"
)

// kvManyKeys returns n keys with varied names, hints and scopes, newest
// first as core.Service.List returns them.
func kvManyKeys(n int) []*core.Key {
	words := []string{"sync", "export", "billing", "crm", "webhook", "relay", "portal", "bot", "staging", "production"}
	scopes := [][]string{{"messaging:*", "users:read"}, {"*:*"}, {"kite:read"}, {"users:ListUsers", "info:read", "history:read"}}
	keys := make([]*core.Key, n)
	for i := range keys {
		keys[i] = &core.Key{
			ID:        fmt.Sprintf("%016x", i),
			Name:      fmt.Sprintf("%s %s %d", words[i%len(words)], words[(i/10)%len(words)], i),
			Hint:      fmt.Sprintf("kdk_%03x", i%4096),
			Scopes:    scopes[i%len(scopes)],
			CreatedAt: kvNow.Add(-time.Duration(i) * time.Minute),
			ExpiresAt: kvNow.Add(time.Duration(i%500-100) * time.Hour),
		}
	}
	return keys
}

// kvQueries are the keystrokes of the search benchmarks: typing, refining,
// a hint, a scope, no match and clearing the box.
var kvQueries = []string{"b", "bi", "bil", "bill", "billing", "billing p", "billing po", "kdk_1a", "users:read", "zzz", ""}

// BenchmarkFilter measures one search keystroke over 100,000 keys on the
// table model (target: ≤ 30 ms per keystroke).
func BenchmarkFilter(b *testing.B) {
	var m keyModel
	m.sortCol, m.sortDesc = colCreated, true
	m.setRows(newKeyRows(kvManyKeys(100_000)))
	for i := 0; b.Loop(); i++ {
		m.setQuery(kvQueries[i%len(kvQueries)])
	}
	b.ReportMetric(float64(b.Elapsed())/float64(time.Millisecond)/float64(b.N), "ms/keystroke")
}

// BenchmarkLoadRows measures building and sorting the rows of 100,000 keys
// in the default order (done off the UI goroutine at start and after each
// change, before the table shows).
func BenchmarkLoadRows(b *testing.B) {
	keys := kvManyKeys(100_000)
	for b.Loop() {
		var m keyModel
		m.sortCol, m.sortDesc = colCreated, true
		m.setRows(newKeyRows(keys))
	}
}

// BenchmarkSearchStrings measures computing the search strings of 100,000
// rows, done off the UI goroutine after the table shows.
func BenchmarkSearchStrings(b *testing.B) {
	rows := newKeyRows(kvManyKeys(100_000))
	for b.Loop() {
		newSearchJob(rows).run()
	}
}

// kvListService is a keysService over a fixed list of keys, for the
// benchmarks of the keys screen: only what showing and filtering call is
// implemented.
type kvListService struct {
	keys []*core.Key
	cat  *core.Catalog
}

var errKVReadOnly = errors.New("the benchmark's key list is read-only")

func (s *kvListService) List() []*core.Key { return s.keys }
func (s *kvListService) Create(core.CreateRequest) (*core.Key, string, error) {
	return nil, "", errKVReadOnly
}
func (s *kvListService) Plan(core.CreateRequest, time.Time) (*core.Key, error) {
	return nil, errKVReadOnly
}
func (s *kvListService) Rename(string, string) (*core.Key, error) { return nil, errKVReadOnly }
func (s *kvListService) Delete(string) (*core.Key, error)         { return nil, errKVReadOnly }
func (s *kvListService) PlanRoll(string, time.Duration) (core.RollPlan, error) {
	return core.RollPlan{}, errKVReadOnly
}
func (s *kvListService) Roll(string, time.Duration) (core.Rolled, error) {
	return core.Rolled{}, errKVReadOnly
}
func (s *kvListService) NameInUse(string) bool  { return false }
func (s *kvListService) Catalog() *core.Catalog { return s.cat }
func (s *kvListService) Now() time.Time         { return kvNow }

// kvBenchView is the keys screen over keys in a 1180×720 test window.
func kvBenchView(b *testing.B, keys []*core.Key) *keysView {
	b.Helper()
	a := test.NewTempApp(b)
	a.Settings().SetTheme(guitest.Variant(theme.DefaultTheme(), theme.VariantLight))
	win := test.NewTempWindow(b, nil)
	env := &uiEnv{
		win:       win,
		clipboard: a.Clipboard(),
		loc:       time.UTC,
		prefs:     uiPrefs{p: a.Preferences()},
		bg:        &testRunner{inline: true},
	}
	ui := newMainUI(env, &kvListService{keys: keys, cat: core.DefaultCatalog()},
		widget.NewLabel("Try a key"), widget.NewLabel("Activity"), widget.NewLabel("Settings"))
	win.SetContent(ui.content)
	win.Resize(fyne.NewSize(defaultWindowWidth, defaultWindowHeight))
	return ui.keys
}

// BenchmarkReload measures the keys screen's load of 100,000 keys: the
// background work that turns service.List() into sorted rows
// (ms/rows-ready, the "rows-ready" of make perf-gui) and the whole reload
// up to the table shown (ms/reload).
func BenchmarkReload(b *testing.B) {
	keys := kvManyKeys(100_000)
	v := kvBenchView(b, keys)
	var ready time.Duration
	for b.Loop() {
		start := time.Now()
		rows := v.loadRows(v.model.sortCol, v.model.sortDesc)
		ready += time.Since(start)
		v.setRows(rows)
		if len(v.model.shown) != len(keys) {
			b.Fatalf("%d rows shown, want %d", len(v.model.shown), len(keys))
		}
	}
	b.ReportMetric(float64(ready)/float64(time.Millisecond)/float64(b.N), "ms/rows-ready")
	b.ReportMetric(float64(b.Elapsed())/float64(time.Millisecond)/float64(b.N), "ms/reload")
}

// BenchmarkSearchKeystroke measures one keystroke in the search box of the
// keys screen over 100,000 keys: filtering plus updating every visible cell
// of the table (a keystroke must take at most 30 ms).
func BenchmarkSearchKeystroke(b *testing.B) {
	v := kvBenchView(b, kvManyKeys(100_000))
	v.reload()
	if !v.loaded || len(v.model.rows) != 100_000 {
		b.Fatalf("loaded %v, %d rows", v.loaded, len(v.model.rows))
	}
	for i := 0; b.Loop(); i++ {
		v.search.SetText(kvQueries[i%len(kvQueries)])
	}
	b.ReportMetric(float64(b.Elapsed())/float64(time.Millisecond)/float64(b.N), "ms/keystroke")
}
