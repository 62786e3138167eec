package storage

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/keytest"
)

// mappedRSS returns the resident kB of this process's mappings of path,
// from /proc/self/smaps.
func mappedRSS(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no /proc/self/smaps: %v", err)
	}
	defer f.Close()
	total, in := 0, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if strings.Contains(fields[0], "-") && len(fields) >= 5 {
			in = len(fields) >= 6 && fields[len(fields)-1] == path
			continue
		}
		if in && fields[0] == "Rss:" {
			kb, _ := strconv.Atoi(fields[1])
			total += kb
		}
	}
	return total
}

func TestReleaseMappedPages(t *testing.T) {
	s, dir := openStore(t)
	const n = 3000
	keys := make([]*core.Key, n)
	for i := range keys {
		keys[i] = keytest.Key(fmt.Sprintf("k%05d", i), t0.Add(time.Duration(i+1)*time.Hour))
		keys[i].Name = strings.Repeat("padding ", 40) + keys[i].ID
	}
	if err := s.InsertKeys(keys, event(core.ActionCreate, "")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ListKeys(); err != nil {
		t.Fatal(err)
	}
	before := mappedRSS(t, Path(dir))
	if before == 0 {
		t.Fatal("the database file is not mapped after reading every key")
	}
	if err := s.ReleaseMappedPages(); err != nil {
		t.Fatal(err)
	}
	after := mappedRSS(t, Path(dir))
	if after >= before {
		t.Fatalf("mapped resident memory %d kB after release, %d kB before", after, before)
	}
	// Reads fault the pages back in and see the same data.
	list, err := s.ListKeys()
	if err != nil || len(list) != n {
		t.Fatalf("ListKeys after release = %d keys, %v", len(list), err)
	}
	got, err := s.GetKey("k01234")
	if err != nil || got.Name != keys[1234].Name {
		t.Fatalf("GetKey after release = %v, %v", got, err)
	}
}
