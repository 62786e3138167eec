package replica

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/storetest"
	"github.com/keydesk/keydesk/pgstore"
	"github.com/keydesk/keydesk/seal"
)

// BenchmarkPropagationThroughPgBouncer: BenchmarkPropagation with the
// replica and the admin behind PgBouncer, with the default heartbeat
// (1 s): in transaction mode polling, in transaction mode listening on a
// direct follow URL, and in session mode. Run with -benchtime=40x.
func BenchmarkPropagationThroughPgBouncer(b *testing.B) {
	for _, c := range []struct{ name, mode, want string }{
		{"transaction-poll", "transaction", pgstore.FollowPoll},
		{"transaction-follow-url", "transaction", pgstore.FollowListen},
		{"session", "session", pgstore.FollowListen},
	} {
		b.Run(c.name, func(b *testing.B) {
			direct := storetest.PGDatabase(b, "kdpooler_")
			pooled := storetest.PgBouncer(b, c.mode, direct)
			ctx := context.Background()
			st, err := pgstore.Init(ctx, pooled, pgstore.InitOptions{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			ed, err := seal.NewEdSigner(testMaster)
			if err != nil {
				b.Fatal(err)
			}
			ss := pgstore.Sealed(st, ed)
			if err := ss.SealFromRows(ctx); err != nil {
				b.Fatal(err)
			}
			admin, err := core.NewService(ss, ed, core.SystemClock{}, nil)
			if err != nil {
				b.Fatal(err)
			}
			opts := Options{}
			if c.name == "transaction-follow-url" {
				opts.FollowURL = direct
			}
			r := runReplica(b, ss, opts)
			for r.Health().Follow != c.want { // start-up only
				time.Sleep(10 * time.Millisecond)
			}
			lat := make([]time.Duration, 0, b.N)
			var id, secret string
			b.ResetTimer()
			for i := range b.N {
				var want core.Reason
				if i%2 == 0 {
					k, s, err := admin.Create(req)
					if err != nil {
						b.Fatal(err)
					}
					id, secret, want = k.ID, s, core.ReasonOK
				} else {
					if _, err := admin.Delete(id); err != nil {
						b.Fatal(err)
					}
					want = core.ReasonUnknown
				}
				start := time.Now()
				for r.Service().Verify(secret, core.Target{}).Reason != want {
					if time.Since(start) > 5*time.Second {
						b.Fatalf("change %d did not reach the replica in 5 s", i)
					}
					time.Sleep(100 * time.Microsecond)
				}
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[(len(lat)*99)/100].Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
		})
	}
}
