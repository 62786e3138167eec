package workspace

import (
	"testing"

	"github.com/keydesk/keydesk/core"
)

// BenchmarkRoll is core.Service.Roll with 100,000 keys in the store, durable
// on disk, on a sealed store: the old record rewritten (its expiry index
// entry moved) and the new one inserted in one commit. Each roll rolls the
// key the previous one created. Target, as for a create: ≤ 20 ms.
func BenchmarkRoll(b *testing.B) {
	f := getFixture(b)
	k, _, err := f.svc.Create(core.CreateRequest{Name: "Rolled nightly", Permissions: core.Permissions{Kind: core.KindSections, Sections: map[string]core.Access{"history": core.AccessRead}}})
	if err != nil {
		b.Fatal(err)
	}
	id := k.ID
	b.ReportAllocs()
	for b.Loop() {
		r, err := f.svc.Roll(id, core.DefaultGrace)
		if err != nil {
			b.Fatal(err)
		}
		id = r.New.ID
	}
	if err := f.store.FlushGeneration(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/roll")
}
