package syncbuf_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/keydesk/keydesk/internal/syncbuf"
)

// Writers at once lose nothing (run with -race: no data race either).
func TestConcurrentWritesAllKept(t *testing.T) {
	var b syncbuf.Buffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				b.Write([]byte("x"))
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if got := b.String(); got != strings.Repeat("x", 800) {
		t.Fatalf("%d bytes kept, want 800", len(got))
	}
}
