package gui

import (
	"fmt"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
)

// kvManyKeys returns n keys with varied names, hints and scopes.
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

// BenchmarkFilter measures one search keystroke over 100,000 keys on the
// table model (target: ≤ 30 ms per keystroke).
func BenchmarkFilter(b *testing.B) {
	var m keyModel
	m.sortCol, m.sortDesc = colCreated, true
	m.setRows(newKeyRows(kvManyKeys(100_000)))
	queries := []string{"b", "bi", "bil", "bill", "billing", "billing p", "billing po", "kdk_1a", "users:read", "zzz", ""}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		m.setQuery(queries[i%len(queries)])
	}
	b.ReportMetric(float64(b.Elapsed())/float64(time.Millisecond)/float64(b.N), "ms/keystroke")
}

// BenchmarkLoadRows measures building and sorting the rows of 100,000 keys
// (done off the UI goroutine at start and after each change).
func BenchmarkLoadRows(b *testing.B) {
	keys := kvManyKeys(100_000)
	for b.Loop() {
		var m keyModel
		m.sortCol, m.sortDesc = colCreated, true
		m.setRows(newKeyRows(keys))
	}
}
