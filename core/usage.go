package core

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"sync"
	"sync/atomic"
	"time"
)

// Usage counting: every real use of a key (the HTTP verification API and
// the gateway endpoint, never an admin's test) is counted per key and UTC
// day as allowed, denied (the key is valid but not for this request) or
// expired; unknown and malformed keys are counted per day only. Each
// process that answers verifications (a writer) keeps its counts for the
// current day in memory and writes them, as absolute numbers per (writer,
// key, day), at most once per UsageFlushInterval: writing the same numbers
// twice, or after a crash, never counts a use twice. Totals are the sum over
// writers. Counts come from servers, so readers treat them as reported, not
// signed: they change nothing else.

// UsageRetention is how long usage counts are kept: rows of days before
// today minus UsageRetention are pruned when counts are written.
const UsageRetention = 90 * 24 * time.Hour

// UsageFlushInterval is how often a writer writes its counts.
const UsageFlushInterval = 10 * time.Second

// MaxUsageDays is the longest range of days a usage read covers.
const MaxUsageDays = 90

// ErrUsageWriter means a usage writer id is not 1 to 64 lowercase letters,
// digits and dashes.
var ErrUsageWriter = errors.New("a usage writer id must be 1 to 64 lowercase letters, digits and dashes")

var writerIDPattern = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)

// CheckUsageWriter returns ErrUsageWriter unless id is a valid writer id.
func CheckUsageWriter(id string) error {
	if !writerIDPattern.MatchString(id) {
		return ErrUsageWriter
	}
	return nil
}

// LocalUsageWriter is the writer id of the process that holds a local
// (bbolt) store: only one process opens it at a time.
const LocalUsageWriter = "local"

// UsageRow is one writer's absolute counts on one UTC day, for one key or,
// with KeyID "", for the presented keys that matched none.
type UsageRow struct {
	// Writer is the id of the process that counted (ignored by PutUsage,
	// which takes it as an argument).
	Writer string
	// Day is the UTC midnight starting the day.
	Day time.Time
	// KeyID is the key used, or "" for the day's unknown and malformed keys.
	KeyID string
	// Allowed, Denied and Expired count the key's uses by answer.
	Allowed, Denied, Expired uint64
	// Unknown (no such key, or a tampered record) and Malformed (not a
	// Keydesk key, or a bad checksum) are counted only in the row with
	// KeyID "".
	Unknown, Malformed uint64
}

// UsageStore keeps usage counts. Both stores implement it.
type UsageStore interface {
	// PutUsage replaces writer's counts for each row's (day, key) with the
	// row's, and deletes the rows of every writer whose day is before
	// pruneBefore, in one transaction.
	PutUsage(writer string, rows []UsageRow, pruneBefore time.Time) error
	// ReadUsage calls fn with every stored row whose day is in [from, to]
	// (UTC midnights) and, when keys is not nil, whose KeyID is in keys.
	// Rows come in no particular order. An error from fn stops the read
	// and is returned.
	ReadUsage(from, to time.Time, keys []string, fn func(UsageRow) error) error
}

// UsageDay returns the UTC midnight starting t's UTC day.
func UsageDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func dayNumber(t time.Time) int64 {
	u := t.Unix()
	if u < 0 {
		return (u - 86399) / 86400
	}
	return u / 86400
}

func dayOf(n int64) time.Time { return time.Unix(n*86400, 0).UTC() }

// keyUsage is one key's counts for the day; only the flusher reads written.
type keyUsage struct {
	allowed, denied, expired atomic.Uint64
	written                  [3]uint64
}

// keyCounters maps the ids of the keys used on one day to their counts.
// Count reads a plain map behind an atomic pointer (one lookup, no lock,
// no write): a sync.Map lookup cost about 40 ns, most of the counting
// budget. The locked all map is the authority; read is a copy of it, made
// again once as many counts missed it as it holds (so copies cost O(1)
// per new key over a day, as sync.Map's first design did).
type keyCounters struct {
	read atomic.Pointer[map[string]*keyUsage]

	mu     sync.Mutex
	all    map[string]*keyUsage // guarded by mu
	misses int                  // lookups that missed read; guarded by mu
}

// get returns id's counts, adding them the first time.
func (c *keyCounters) get(id string) *keyUsage {
	if m := c.read.Load(); m != nil {
		if k := (*m)[id]; k != nil {
			return k
		}
	}
	return c.getSlow(id)
}

func (c *keyCounters) getSlow(id string) *keyUsage {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := c.all[id]
	if k == nil {
		if c.all == nil {
			c.all = make(map[string]*keyUsage)
		}
		k = new(keyUsage)
		c.all[id] = k
	}
	read := c.read.Load()
	if c.misses++; read == nil || c.misses >= len(*read) {
		m := maps.Clone(c.all)
		c.read.Store(&m)
		c.misses = 0
	}
	return k
}

// store sets id's counts (NewUsageRecorder, before any Count).
func (c *keyCounters) store(id string, k *keyUsage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.all == nil {
		c.all = make(map[string]*keyUsage)
	}
	c.all[id] = k
	m := maps.Clone(c.all)
	c.read.Store(&m)
}

// each calls fn with every key's counts (the flusher).
func (c *keyCounters) each(fn func(id string, k *keyUsage)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, k := range c.all {
		fn(id, k)
	}
}

// len returns the number of keys counted.
func (c *keyCounters) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.all)
}

// dayUsage is one day's counts.
type dayUsage struct {
	day                uint32
	keys               keyCounters
	unknown, malformed atomic.Uint64
	written            [2]uint64
	// flushes counts the flushes since the day ended (see Flush).
	flushes int
}

// UsageRecorder counts real uses for one writer and writes them to a
// UsageStore. Count is safe for concurrent use and costs a lock-free map
// lookup and an atomic add; memory holds only the keys used on the current
// day.
type UsageRecorder struct {
	store  UsageStore
	writer string
	clock  Clock

	cur atomic.Pointer[dayUsage]

	mu      sync.Mutex // rotation and flushes
	retired []*dayUsage
}

// NewUsageRecorder returns a recorder writing as writer to st. It starts
// from the counts st holds for writer today, so a restarted writer goes on
// counting where its last write stopped instead of overwriting it.
func NewUsageRecorder(st UsageStore, writer string, clock Clock) (*UsageRecorder, error) {
	if err := CheckUsageWriter(writer); err != nil {
		return nil, err
	}
	if clock == nil {
		clock = SystemClock{}
	}
	r := &UsageRecorder{store: st, writer: writer, clock: clock}
	today := clock.Now()
	d := &dayUsage{day: uint32(dayNumber(today))}
	day := UsageDay(today)
	err := st.ReadUsage(day, day, nil, func(row UsageRow) error {
		if row.Writer != writer {
			return nil
		}
		if row.KeyID == "" {
			d.unknown.Store(row.Unknown)
			d.malformed.Store(row.Malformed)
			d.written = [2]uint64{row.Unknown, row.Malformed}
			return nil
		}
		k := &keyUsage{written: [3]uint64{row.Allowed, row.Denied, row.Expired}}
		k.allowed.Store(row.Allowed)
		k.denied.Store(row.Denied)
		k.expired.Store(row.Expired)
		d.keys.store(row.KeyID, k)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read today's usage counts: %w", err)
	}
	r.cur.Store(d)
	return r, nil
}

// Count records one answered verification on the current day. Answers of
// a valid key that is not allowed (its scopes, or a request matching no
// operation) count as denied. It reads no clock (that would cost more than
// the rest): the day changes when Run's timer fires at UTC midnight, or at
// the next Flush.
func (r *UsageRecorder) Count(v Verification) {
	d := r.cur.Load()
	switch v.Reason {
	case ReasonMalformed, ReasonBadChecksum:
		d.malformed.Add(1)
		return
	case ReasonUnknown, ReasonTampered:
		d.unknown.Add(1)
		return
	}
	if v.Key == nil {
		return
	}
	ku := d.keys.get(v.Key.ID)
	switch {
	case v.Reason == ReasonExpired:
		ku.expired.Add(1)
	case v.Allowed:
		ku.allowed.Add(1)
	case v.Valid:
		ku.denied.Add(1)
	}
}

// rotate starts day n (unless another goroutine did) and returns it.
func (r *UsageRecorder) rotate(n uint32) *dayUsage {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := r.cur.Load()
	if d.day == n {
		return d
	}
	r.retired = append(r.retired, d)
	nd := &dayUsage{day: n}
	r.cur.Store(nd)
	return nd
}

// rows appends d's counts that changed since they were last written, and
// returns a function that marks them written.
func (d *dayUsage) rows(out []UsageRow) ([]UsageRow, func()) {
	day := dayOf(int64(d.day))
	var marks []func()
	d.keys.each(func(id string, k *keyUsage) {
		now := [3]uint64{k.allowed.Load(), k.denied.Load(), k.expired.Load()}
		if now != k.written {
			out = append(out, UsageRow{Day: day, KeyID: id, Allowed: now[0], Denied: now[1], Expired: now[2]})
			marks = append(marks, func() { k.written = now })
		}
	})
	if now := [2]uint64{d.unknown.Load(), d.malformed.Load()}; now != d.written {
		out = append(out, UsageRow{Day: day, Unknown: now[0], Malformed: now[1]})
		marks = append(marks, func() { d.written = now })
	}
	return out, func() {
		for _, m := range marks {
			m()
		}
	}
}

// Flush writes the counts that changed since the last write, and prunes
// rows older than UsageRetention. A day that has ended is written on two
// more flushes (a Count that read it just before the day changed lands in
// the first or second), then dropped from memory.
func (r *UsageRecorder) Flush() error {
	now := r.clock.Now()
	if n := uint32(dayNumber(now)); n != r.cur.Load().day {
		r.rotate(n)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var rows []UsageRow
	var marks []func()
	for _, d := range append(r.retired, r.cur.Load()) {
		var mark func()
		rows, mark = d.rows(rows)
		marks = append(marks, mark)
	}
	if len(rows) > 0 {
		if err := r.store.PutUsage(r.writer, rows, UsageDay(now.Add(-UsageRetention))); err != nil {
			return fmt.Errorf("save usage counts: %w", err)
		}
	}
	for _, m := range marks {
		m()
	}
	kept := r.retired[:0]
	for _, d := range r.retired {
		if d.flushes++; d.flushes < 2 {
			kept = append(kept, d)
		}
	}
	r.retired = kept
	return nil
}

// Run flushes every interval until ctx ends, then once more. At each UTC
// midnight it starts the next day's counts without writing: the day that
// ended is written by the next flush, so a writer writes at most once per
// interval (plus the last write when ctx ends). Errors go to report (may be
// nil).
func (r *UsageRecorder) Run(ctx context.Context, interval time.Duration, report func(error)) {
	if interval <= 0 {
		interval = UsageFlushInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	midnight := time.NewTimer(r.untilMidnight())
	defer midnight.Stop()
	flush := func() {
		if err := r.Flush(); err != nil && report != nil {
			report(err)
		}
	}
	for {
		select {
		case <-ctx.Done():
			flush()
			return
		case <-t.C:
			flush()
		case <-midnight.C:
			r.rotate(uint32(dayNumber(r.clock.Now())))
			midnight.Reset(r.untilMidnight())
		}
	}
}

// untilMidnight returns the time to the next UTC midnight by r's clock
// (at least a second, so that a clock standing still does not spin).
func (r *UsageRecorder) untilMidnight() time.Duration {
	now := r.clock.Now()
	return max(UsageDay(now).AddDate(0, 0, 1).Sub(now), time.Second)
}
