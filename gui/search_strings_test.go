package gui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/keydesk/keydesk/core"
)

// TestSearchStringsMatchEachRow checks that the search strings a chunk
// computes together are each row's own, for ASCII text and for text whose
// lower case is longer than itself (so the shared buffer grows midway),
// and that the strings of ASCII rows take one allocation.
func TestSearchStringsMatchEachRow(t *testing.T) {
	var rows []*keyRow
	for i := range 300 {
		name := fmt.Sprintf("Billing Sync %d", i)
		if i%50 == 7 {
			name = "İstanbul İzmir " + strings.Repeat("İ", i%13) // lower case: 3 bytes for 2
		}
		rows = append(rows, &keyRow{key: &core.Key{Name: name, Hint: fmt.Sprintf("kd_…%04X", i),
			Scopes: []string{"Messaging:GetChannel", fmt.Sprintf("Billing:Read%d", i%3)}}})
	}
	out := make([]string, len(rows))
	searchStrings(rows, out)
	for i, r := range rows {
		if want := searchString(r.key); out[i] != want {
			t.Fatalf("row %d: %q, want %q", i, out[i], want)
		}
	}
	ascii := rows[:7]
	if n := testing.AllocsPerRun(20, func() { searchStrings(ascii, out[:len(ascii)]) }); n != 1 {
		t.Fatalf("the search strings of %d ASCII rows took %.0f allocations, want 1", len(ascii), n)
	}
}
