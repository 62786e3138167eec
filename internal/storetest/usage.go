package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/clocktest"
)

// usageStore returns s as a core.UsageStore; every store keeps usage counts.
func usageStore(t *testing.T, s core.Store) core.UsageStore {
	t.Helper()
	us, ok := s.(core.UsageStore)
	if !ok {
		t.Fatalf("%T does not keep usage counts (core.UsageStore)", s)
	}
	return us
}

// testUsage checks the usage rows: absolute counts per (writer, day, key)
// that a second write replaces, summed over writers, read by day range and
// key, pruned by day, and refused with a bad writer id.
func testUsage(t *testing.T, s core.Store) {
	us := usageStore(t, s)
	day := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	prune := day.AddDate(0, 0, -90)
	rows := []core.UsageRow{
		{Day: day, KeyID: "k1", Allowed: 5, Denied: 2, Expired: 1},
		{Day: day, Unknown: 3, Malformed: 4},
		{Day: day.AddDate(0, 0, -1), KeyID: "k1", Allowed: 7},
		{Day: day, KeyID: "k2", Allowed: 1},
	}
	if err := us.PutUsage("replica-a", rows, prune); err != nil {
		t.Fatalf("PutUsage: %v", err)
	}
	// The same absolute counts again (a flush repeated after a crash),
	// then higher ones: replaced, never added.
	if err := us.PutUsage("replica-a", rows, prune); err != nil {
		t.Fatalf("PutUsage again: %v", err)
	}
	if err := us.PutUsage("replica-a", []core.UsageRow{{Day: day, KeyID: "k1", Allowed: 6, Denied: 2, Expired: 1}}, prune); err != nil {
		t.Fatalf("PutUsage higher: %v", err)
	}
	if err := us.PutUsage("replica-b", []core.UsageRow{{Day: day, KeyID: "k1", Allowed: 10}}, prune); err != nil {
		t.Fatalf("PutUsage second writer: %v", err)
	}
	if err := us.PutUsage("Bad Writer", []core.UsageRow{{Day: day, KeyID: "k1", Allowed: 1000}}, prune); !errors.Is(err, core.ErrUsageWriter) {
		t.Fatalf("PutUsage with a bad writer id: %v, want ErrUsageWriter", err)
	}

	ku, err := core.ReadKeyUsage(us, "k1", day.Add(13*time.Hour), 3)
	if err != nil {
		t.Fatalf("ReadKeyUsage: %v", err)
	}
	want := []core.DayUsage{
		{Day: day, UsageCounts: core.UsageCounts{Allowed: 16, Denied: 2, Expired: 1}},
		{Day: day.AddDate(0, 0, -1), UsageCounts: core.UsageCounts{Allowed: 7}},
		{Day: day.AddDate(0, 0, -2)},
	}
	if len(ku.Days) != len(want) {
		t.Fatalf("ReadKeyUsage: %d days, want %d", len(ku.Days), len(want))
	}
	for i := range want {
		if !ku.Days[i].Day.Equal(want[i].Day) || ku.Days[i].UsageCounts != want[i].UsageCounts {
			t.Errorf("day %d: %+v, want %+v", i, ku.Days[i], want[i])
		}
	}
	if ku.Total != (core.UsageCounts{Allowed: 23, Denied: 2, Expired: 1}) || ku.Writers != 2 {
		t.Errorf("ReadKeyUsage total %+v by %d writers, want 23/2/1 by 2", ku.Total, ku.Writers)
	}

	tot, err := core.ReadUsageTotals(us, []string{"k1", "k2"}, day, 1)
	if err != nil {
		t.Fatalf("ReadUsageTotals: %v", err)
	}
	if tot.Keys["k1"] != (core.UsageCounts{Allowed: 16, Denied: 2, Expired: 1}) || tot.Keys["k2"] != (core.UsageCounts{Allowed: 1}) ||
		tot.Unknown != 3 || tot.Malformed != 4 || tot.Writers != 2 {
		t.Errorf("ReadUsageTotals (today) = %+v", tot)
	}

	// Only k2's rows, and only today's.
	n := 0
	if err := us.ReadUsage(day, day, []string{"k2"}, func(r core.UsageRow) error {
		n++
		if r.KeyID != "k2" || !r.Day.Equal(day) || r.Writer != "replica-a" || r.Allowed != 1 {
			t.Errorf("ReadUsage k2: %+v", r)
		}
		return nil
	}); err != nil || n != 1 {
		t.Fatalf("ReadUsage k2: %d rows, %v", n, err)
	}

	// A write 90 days later prunes the days before its cutoff, of every
	// writer: yesterday's row goes, today's stays.
	if err := us.PutUsage("replica-b", []core.UsageRow{{Day: day.AddDate(0, 0, 90), KeyID: "k1", Allowed: 1}}, day); err != nil {
		t.Fatalf("PutUsage pruning: %v", err)
	}
	n = 0
	if err := us.ReadUsage(day.AddDate(0, 0, -10), day, nil, func(r core.UsageRow) error {
		n++
		if !r.Day.Equal(day) {
			t.Errorf("a row of %v survived the pruning before %v", r.Day, day)
		}
		return nil
	}); err != nil || n != 4 {
		t.Fatalf("after pruning: %d rows of today (want 4), %v", n, err)
	}
}

// testUsageRecorder runs a recorder on the store: counts are written as
// absolute numbers, a restarted writer (a crash between writes) goes on
// from what it wrote and never counts a use twice, a second writer adds
// its own, and counts older than 90 days are pruned.
func testUsageRecorder(t *testing.T, s core.Store) {
	us := usageStore(t, s)
	start := time.Date(2026, 12, 6, 23, 59, 0, 0, time.UTC)
	clock := clocktest.New(start)
	key := &core.Key{ID: "k1"}
	ok := core.Verification{Valid: true, Allowed: true, Reason: core.ReasonOK, Key: key}
	denied := core.Verification{Valid: true, Reason: core.ReasonForbidden, Key: key}
	expired := core.Verification{Reason: core.ReasonExpired, Key: key}

	a, err := core.NewUsageRecorder(us, "replica-a", clock)
	if err != nil {
		t.Fatal(err)
	}
	a.Count(ok)
	a.Count(ok)
	a.Count(denied)
	a.Count(core.Verification{Reason: core.ReasonUnknown})
	a.Count(core.Verification{Reason: core.ReasonMalformed})
	if err := a.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := a.Flush(); err != nil { // nothing new: writes nothing, adds nothing
		t.Fatal(err)
	}
	a.Count(ok)
	// The process is killed before its next write: that use is lost,
	// nothing is counted twice. The restarted writer starts from the
	// stored counts.
	a, err = core.NewUsageRecorder(us, "replica-a", clock)
	if err != nil {
		t.Fatal(err)
	}
	a.Count(expired)
	if err := a.Flush(); err != nil {
		t.Fatal(err)
	}
	b, err := core.NewUsageRecorder(us, "replica-b", clock)
	if err != nil {
		t.Fatal(err)
	}
	b.Count(ok)
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	ku, err := core.ReadKeyUsage(us, "k1", clock.Now(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if ku.Total != (core.UsageCounts{Allowed: 3, Denied: 1, Expired: 1}) || ku.Writers != 2 {
		t.Fatalf("after a crash and a second writer: %+v by %d writers, want allowed 3, denied 1, expired 1 by 2", ku.Total, ku.Writers)
	}

	// Past midnight (a flush, as Run's timer does, starts the new day):
	// the new day is counted apart, the old day's last counts are still
	// written.
	a.Count(ok)
	clock.Add(2 * time.Minute)
	if err := a.Flush(); err != nil {
		t.Fatal(err)
	}
	a.Count(denied)
	if err := a.Flush(); err != nil {
		t.Fatal(err)
	}
	ku, err = core.ReadKeyUsage(us, "k1", clock.Now(), 2)
	if err != nil {
		t.Fatal(err)
	}
	if ku.Days[0].UsageCounts != (core.UsageCounts{Denied: 1}) || ku.Days[1].UsageCounts != (core.UsageCounts{Allowed: 4, Denied: 1, Expired: 1}) {
		t.Fatalf("across midnight: %+v", ku.Days)
	}

	// 90 days after the first day, its counts are still kept; a write on
	// the 91st prunes them.
	first := core.UsageDay(start)
	clock.Set(first.AddDate(0, 0, 90).Add(time.Hour))
	a.Count(ok)
	if err := a.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, us, first); n == 0 {
		t.Fatal("the counts of 90 days ago were pruned already")
	}
	clock.Set(first.AddDate(0, 0, 91).Add(time.Hour))
	a.Count(ok)
	if err := a.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, us, first); n != 0 {
		t.Fatalf("%d rows of 91 days ago survived", n)
	}
}

func countRows(t *testing.T, us core.UsageStore, day time.Time) int {
	t.Helper()
	n := 0
	if err := us.ReadUsage(day, day, nil, func(core.UsageRow) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}
