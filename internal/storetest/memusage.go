package storetest

import (
	"slices"
	"time"

	"github.com/keydesk/keydesk/core"
)

var _ core.UsageStore = (*MemStore)(nil)

type memUsageKey struct {
	writer string
	day    int64
	keyID  string
}

// PutUsage replaces writer's counts for each row's day and key, and prunes
// the days before pruneBefore.
func (s *MemStore) PutUsage(writer string, rows []core.UsageRow, pruneBefore time.Time) error {
	if err := core.CheckUsageWriter(writer); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.usage == nil {
		s.usage = map[memUsageKey]core.UsageRow{}
	}
	for _, r := range rows {
		r.Writer, r.Day = writer, core.UsageDay(r.Day)
		s.usage[memUsageKey{writer, r.Day.Unix(), r.KeyID}] = r
	}
	for k := range s.usage {
		if k.day < core.UsageDay(pruneBefore).Unix() {
			delete(s.usage, k)
		}
	}
	return nil
}

// ReadUsage calls fn with the rows of days in [from, to] (of keys, unless
// nil).
func (s *MemStore) ReadUsage(from, to time.Time, keys []string, fn func(core.UsageRow) error) error {
	s.mu.Lock()
	var rows []core.UsageRow
	for k, r := range s.usage {
		if k.day >= core.UsageDay(from).Unix() && k.day <= core.UsageDay(to).Unix() && (keys == nil || slices.Contains(keys, k.keyID)) {
			rows = append(rows, r)
		}
	}
	s.mu.Unlock()
	for _, r := range rows {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}
