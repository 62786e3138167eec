package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/keydesk/keydesk/core"
)

// scrape reads url's /metrics as Prometheus does and parses it with
// Prometheus's own text parser.
func scrape(t testing.TB, url string) map[string]*dto.MetricFamily {
	t.Helper()
	r := do(t, http.MethodGet, url+PathMetrics, nil, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET /metrics: status %d: %s", r.Status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("GET /metrics: Content-Type %q, want the text format", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(r.Body)))
	if err != nil {
		t.Fatalf("the exposition does not parse: %v\n%s", err, r.Body)
	}
	return fams
}

// metricValue returns the value of the sample of family name whose labels
// are exactly labels (name, value pairs); it fails the test if there is none.
func metricValue(t testing.TB, fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	fam, ok := fams[name]
	if !ok {
		t.Fatalf("no metric %s", name)
	}
	if fam.GetHelp() == "" {
		t.Errorf("%s has no HELP", name)
	}
next:
	for _, m := range fam.Metric {
		if len(m.Label) != len(labels)/2 {
			continue
		}
		for _, l := range m.Label {
			found := false
			for i := 0; i < len(labels); i += 2 {
				if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		case m.Untyped != nil:
			return m.Untyped.GetValue()
		}
	}
	t.Fatalf("no sample of %s with labels %v", name, labels)
	return 0
}

// TestMetricsResultOfReason: every reason the server counts has its result
// label, in the same order as Reasons.
func TestMetricsResultOfReason(t *testing.T) {
	want := map[core.Reason]string{
		core.ReasonOK: ResultOK, core.ReasonMalformed: ResultMalformed, core.ReasonBadChecksum: ResultMalformed,
		core.ReasonUnknown: ResultUnknown, core.ReasonExpired: ResultExpired, core.ReasonForbidden: ResultDenied,
		core.ReasonTampered: ResultTampered,
	}
	if len(Reasons) != len(resultOfReason) || len(want) != len(Reasons) {
		t.Fatalf("%d reasons, %d result labels, %d expected", len(Reasons), len(resultOfReason), len(want))
	}
	for i, r := range Reasons {
		if resultOfReason[i] != want[r] {
			t.Errorf("reason %s counts as %q, want %q", r, resultOfReason[i], want[r])
		}
	}
}

// TestMetricsCountVerifications: verifications through both endpoints over
// HTTP show up in /metrics by endpoint and result, with their durations,
// the refusals that are no verification, and the keys by state, as
// Prometheus's parser reads them.
func TestMetricsCountVerifications(t *testing.T) {
	f := newFixture(t)
	verify := func(key, op string) {
		t.Helper()
		if r := f.postVerify(t, map[string]any{"key": key, "operation": op}); r.Status != http.StatusOK {
			t.Fatalf("verify: status %d: %s", r.Status, r.Body)
		}
	}
	reader := secretOf(t, f, "reader")
	verify(reader, "messaging.channels.list")                     // ok
	verify(reader, "messaging.channels.get")                      // ok
	verify(reader, "users.list")                                  // denied
	verify(secretOf(t, f, "expired"), "messaging.channels.list")  // expired
	verify(unknownKey(t), "messaging.channels.list")              // unknown
	verify(malformedKey, "messaging.channels.list")               // malformed
	verify(badChecksum(reader), "messaging.channels.list")        // malformed
	verify(secretOf(t, f, "tampered"), "messaging.channels.list") // tampered
	// Not verifications: a body that is no JSON, and /v1/auth without a key.
	if r := do(t, http.MethodPost, f.url+PathVerify, strings.NewReader("{"), nil); r.Status != http.StatusBadRequest {
		t.Fatalf("bad JSON: status %d", r.Status)
	}
	for _, c := range []struct {
		key, method, uri string
		status           int
	}{
		{reader, "GET", "/v2/conversations/channels", 200},        // ok
		{reader, "GET", "/v2/users", 403},                         // denied
		{secretOf(t, f, "global"), "GET", "/v2/nowhere", 403},     // no route: denied
		{unknownKey(t), "GET", "/v2/conversations/channels", 401}, // unknown
		{secretOf(t, f, "expired"), "GET", "/v2/users", 401},      // expired
		{"", "GET", "/v2/conversations/channels", 401},            // missing key
	} {
		if r := f.getAuth(t, c.key, c.method, c.uri, false); r.Status != c.status {
			t.Fatalf("auth %s %s: status %d, want %d", c.method, c.uri, r.Status, c.status)
		}
	}
	// The Envoy form counts as auth too.
	if r := do(t, http.MethodGet, f.url+PathAuth+"/v2/conversations/channels", nil, map[string]string{"Authorization": "Bearer " + reader}); r.Status != 200 {
		t.Fatalf("envoy auth: status %d", r.Status)
	}

	fams := scrape(t, f.url)
	want := map[[2]string]float64{
		{"verify", "ok"}: 2, {"verify", "denied"}: 1, {"verify", "expired"}: 1, {"verify", "unknown"}: 1,
		{"verify", "malformed"}: 2, {"verify", "tampered"}: 1,
		{"auth", "ok"}: 2, {"auth", "denied"}: 2, {"auth", "expired"}: 1, {"auth", "unknown"}: 1,
		{"auth", "malformed"}: 0, {"auth", "tampered"}: 0,
	}
	for k, n := range want {
		if got := metricValue(t, fams, "keydesk_verifications_total", "endpoint", k[0], "result", k[1]); got != n {
			t.Errorf("keydesk_verifications_total{endpoint=%q,result=%q} = %v, want %v", k[0], k[1], got, n)
		}
	}
	if n := len(fams["keydesk_verifications_total"].Metric); n != len(want) {
		t.Errorf("keydesk_verifications_total has %d series, want %d (no other label values)", n, len(want))
	}
	// Durations: every request to an endpoint, the bad one included.
	if got := metricValue(t, fams, "keydesk_request_duration_seconds", "endpoint", "verify"); got != 9 {
		t.Errorf("verify durations observed: %v, want 9", got)
	}
	if got := metricValue(t, fams, "keydesk_request_duration_seconds", "endpoint", "auth"); got != 7 {
		t.Errorf("auth durations observed: %v, want 7", got)
	}
	if got := metricValue(t, fams, "keydesk_auth_missing_key_total"); got != 1 {
		t.Errorf("missing keys: %v, want 1", got)
	}
	if got := metricValue(t, fams, "keydesk_bad_requests_total"); got != 1 {
		t.Errorf("bad requests: %v, want 1", got)
	}
	// The keys by state at the server's clock (t0+2h): "expired" lived an
	// hour, the five others are active.
	for state, n := range map[string]float64{"active": 5, "expired": 1, "idle": 0} {
		if got := metricValue(t, fams, "keydesk_keys", "state", state); got != n {
			t.Errorf("keydesk_keys{state=%q} = %v, want %v", state, got, n)
		}
	}
	// The runtime and process collectors are there.
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if _, ok := fams[name]; !ok {
			t.Errorf("no %s", name)
		}
	}
	// No label value names a key.
	for name, fam := range fams {
		for _, m := range fam.Metric {
			for _, l := range m.Label {
				for _, k := range f.keys {
					if strings.Contains(l.GetValue(), k.ID) || strings.Contains(l.GetValue(), "kdk_") {
						t.Errorf("%s has a label naming a key: %s=%q", name, l.GetName(), l.GetValue())
					}
				}
			}
		}
	}

	// 95 days later: every key but "msgread" (6 months, never used) has
	// expired, and that one is idle.
	f.clock.Set(t0.Add(95 * 24 * time.Hour))
	fams = scrape(t, f.url)
	for state, n := range map[string]float64{"active": 0, "expired": 5, "idle": 1} {
		if got := metricValue(t, fams, "keydesk_keys", "state", state); got != n {
			t.Errorf("at day 95: keydesk_keys{state=%q} = %v, want %v", state, got, n)
		}
	}
}

// TestMetricsElsewhere: with MetricsElsewhere the API's handler has no
// /metrics (404), and Metrics().Handler() serves them.
func TestMetricsElsewhere(t *testing.T) {
	f := newFixture(t)
	srv := New(f.svc, Options{Logger: testLogger(t), MetricsElsewhere: true})
	ts := serveTest(t, srv)
	if r := do(t, http.MethodGet, ts+PathMetrics, nil, nil); r.Status != http.StatusNotFound || strings.Contains(string(r.Body), "/metrics") {
		t.Fatalf("GET /metrics on the API: status %d, body %s; want 404 not naming /metrics", r.Status, r.Body)
	}
	if r := do(t, http.MethodPost, ts+PathVerify, strings.NewReader(`{"key": "`+secretOf(t, f, "reader")+`"}`), nil); r.Status != http.StatusOK {
		t.Fatalf("verify: status %d", r.Status)
	}
	ms := serveTest(t, srv.Metrics().Handler())
	fams := scrape(t, ms)
	if got := metricValue(t, fams, "keydesk_verifications_total", "endpoint", "verify", "result", "ok"); got != 1 {
		t.Errorf("verify ok on the metrics listener: %v, want 1", got)
	}
	// And a wrong method on the API's /metrics is refused with Allow.
	if r := do(t, http.MethodPost, f.url+PathMetrics, nil, nil); r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /metrics: status %d, Allow %q", r.Status, r.Header.Get("Allow"))
	}
}

// TestMetricsDigest: digest deliveries are counted by result, every result
// present from the start.
func TestMetricsDigest(t *testing.T) {
	f := newFixture(t)
	m := f.srv.Metrics()
	m.CountDigest(DigestSent)
	m.CountDigest(DigestFailed)
	m.CountDigest(DigestFailed)
	m.CountDigest("no such result")
	fams := scrape(t, f.url)
	for res, n := range map[string]float64{DigestSent: 1, DigestFailed: 2, DigestNothing: 0, DigestNotConfigured: 0, DigestUpToDate: 0} {
		if got := metricValue(t, fams, "keydesk_digest_deliveries_total", "result", res); got != n {
			t.Errorf("keydesk_digest_deliveries_total{result=%q} = %v, want %v", res, got, n)
		}
	}
	if n := len(fams["keydesk_digest_deliveries_total"].Metric); n != 5 {
		t.Errorf("%d digest results, want 5", n)
	}
}

// serveTest serves h on a loopback port for the test and returns its URL.
func serveTest(t *testing.T, h http.Handler) string {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts.URL
}
