package storage

import (
	"sync"
)

// mirror writes a sealed store's latest committed generation to the
// keyring in the background: a Secret Service write costs more than a
// durable bbolt commit (about 17 ms against 2-5 ms here), so a change does
// not wait for it. Writes are coalesced (only the latest generation is
// written) and never go backwards. If the process dies before a write lands
// the keyring lags the file, which Seal accepts (the file is ahead), so the
// cost is only that a copy of the file taken in that moment would not be
// recognised as older.
type mirror struct {
	kr   *Keyring
	mu   sync.Mutex
	idle *sync.Cond // signalled when busy becomes false
	want uint64     // latest committed generation
	done uint64     // highest generation written to the keyring
	err  error      // the last write's failure, nil after a success
	busy bool       // a writer goroutine is running
}

func newMirror(kr *Keyring, done uint64) *mirror {
	m := &mirror{kr: kr, want: done, done: done}
	m.idle = sync.NewCond(&m.mu)
	return m
}

// committed records gen as committed and starts a writer if none runs.
func (m *mirror) committed(gen uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.want = max(m.want, gen)
	if !m.busy && m.done < m.want {
		m.busy = true
		go m.run()
	}
}

// run writes the wanted generation until the keyring has caught up or a
// write fails (the next change, or flush, tries again).
func (m *mirror) run() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for m.done < m.want {
		gen := m.want
		m.mu.Unlock()
		err := m.kr.SetGeneration(gen)
		m.mu.Lock()
		if err != nil {
			m.err = err
			break
		}
		m.done, m.err = gen, nil
	}
	m.busy = false
	m.idle.Broadcast()
}

// flush waits for a running writer, writes the latest generation if it is
// still missing, and returns the last write's error.
func (m *mirror) flush() error {
	m.mu.Lock()
	for m.busy {
		m.idle.Wait()
	}
	if m.done < m.want {
		m.busy = true
		m.mu.Unlock()
		m.run()
		m.mu.Lock()
	}
	defer m.mu.Unlock()
	return m.err
}

// FlushGeneration waits until the keyring holds the store's latest
// generation (writing it if a background write failed) and returns the
// keyring's error, if any. Close calls it; an unsealed store returns nil.
func (s *Store) FlushGeneration() error {
	s.mu.Lock()
	m := s.mirror
	s.mu.Unlock()
	if m == nil {
		return nil
	}
	return m.flush()
}
