package settings

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/gui/internal/guitest"
)

// TestWindowAPICountsUsage: the window's in-app verification API counts
// its answers per key and day, and keeps counting the same day when it is
// switched off and on (the counts are written when it stops); Try a key
// (Verify) is not counted.
func TestWindowAPICountsUsage(t *testing.T) {
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	b := guitest.Workspace(t, now)
	k, secret := guitest.Create(t, b.Service(), "Counted", core.Lifetime{}, core.Permissions{Kind: core.KindGlobal})
	a := &apiServer{v: ServiceVerifier(b.Service()), usage: WorkspaceSource(b).UsageCounter}
	verify := func(key string) {
		t.Helper()
		addr, err := a.start(a.next(), "127.0.0.1:0", func(err error) { t.Errorf("server: %v", err) })
		if err != nil {
			t.Fatal(err)
		}
		body, _ := json.Marshal(map[string]string{"key": key})
		resp, err := http.Post("http://"+addr+"/v1/keys/verify", "application/json", strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		a.shutdown()
	}
	verify(secret)
	verify(secret)
	verify("kdk_notakey")
	b.Service().Verify(secret, core.Target{}) // Try a key
	u, err := core.ReadKeyUsage(b.UsageStore(), k.ID, now, 1)
	if err != nil {
		t.Fatal(err)
	}
	if u.Total != (core.UsageCounts{Allowed: 2}) || u.Writers != 1 {
		t.Fatalf("usage after two uses through the window's API: %+v by %d writers", u.Total, u.Writers)
	}
	tot, err := core.ReadUsageTotals(b.UsageStore(), []string{k.ID}, now, 1)
	if err != nil || tot.Malformed != 1 {
		t.Fatalf("malformed keys counted: %+v, %v", tot, err)
	}
}
