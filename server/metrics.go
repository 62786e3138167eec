package server

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/keydesk/keydesk/core"
)

// PathMetrics is where a server answers Prometheus scrapes (unless
// Options.MetricsElsewhere).
const PathMetrics = "/metrics"

// Endpoints, as the "endpoint" label of the metrics names them.
const (
	endpointVerify = iota // POST /v1/keys/verify
	endpointAuth          // /v1/auth and /v1/auth/<path>
	numEndpoints
)

var endpointLabels = [numEndpoints]string{"verify", "auth"}

// Results, as the "result" label of keydesk_verifications_total names
// them: the reasons of Reasons, with a bad checksum counted as malformed
// and a valid key refused for its scopes (or on /v1/auth for a path no
// operation has) as denied.
const (
	ResultOK        = "ok"
	ResultDenied    = "denied"
	ResultExpired   = "expired"
	ResultUnknown   = "unknown"
	ResultMalformed = "malformed"
	ResultTampered  = "tampered"
)

// resultOfReason is the result label of each reason of Reasons, by index
// (TestMetricsResultOfReason checks they line up).
var resultOfReason = [...]string{
	ResultOK, ResultMalformed, ResultMalformed, ResultUnknown, ResultExpired, ResultDenied, ResultTampered,
}

// DurationBuckets are the upper bounds (seconds) of the request-duration
// histogram: a verification takes tens of microseconds, so the buckets
// start far below Prometheus's defaults.
var DurationBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1}

// Digest delivery results, as the "result" label of
// keydesk_digest_deliveries_total names them.
const (
	DigestSent          = "sent"
	DigestNothing       = "nothing_to_send"
	DigestFailed        = "failed"
	DigestNotConfigured = "not_configured"
	DigestUpToDate      = "up_to_date"
)

var digestResults = []string{DigestSent, DigestNothing, DigestFailed, DigestNotConfigured, DigestUpToDate}

// KeyStateCounter is implemented by verifiers that count their keys by
// state cheaply (*core.Service does); a server over one reports
// keydesk_keys.
type KeyStateCounter interface {
	CountStates() core.KeyStates
}

// Metrics are one server's Prometheus metrics, in a registry of its own
// (never the process-wide default): the verification counters and
// durations, the Go runtime and process collectors, the keys by state, the
// digest deliveries, and whatever a caller registers (a replica's
// freshness). No metric has a per-key label.
type Metrics struct {
	reg *prometheus.Registry
	// Resolved at construction, so that counting a verification is one
	// atomic add with no label lookup.
	results   [numEndpoints][len(resultOfReason)]prometheus.Counter
	durations [numEndpoints]prometheus.Observer
	digests   map[string]prometheus.Counter
	handler   http.Handler
}

func newMetrics(s *Server) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), digests: make(map[string]prometheus.Counter, len(digestResults))}
	verifications := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "keydesk_verifications_total",
		Help: "Verifications answered, by endpoint (verify: POST /v1/keys/verify; auth: /v1/auth) and result (ok, denied, expired, unknown, malformed, tampered).",
	}, []string{"endpoint", "result"})
	durations := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "keydesk_request_duration_seconds",
		Help:    "Time to answer a request to a verification endpoint (verify or auth), bad requests included.",
		Buckets: DurationBuckets,
	}, []string{"endpoint"})
	digests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "keydesk_digest_deliveries_total",
		Help: "Attempts to deliver the daily expiration digest, by result (sent, nothing_to_send, failed, not_configured, up_to_date).",
	}, []string{"result"})
	for ep, name := range endpointLabels {
		for i, res := range resultOfReason {
			m.results[ep][i] = verifications.WithLabelValues(name, res)
		}
		m.durations[ep] = durations.WithLabelValues(name)
	}
	for _, res := range digestResults {
		m.digests[res] = digests.WithLabelValues(res)
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		verifications, durations, digests,
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "keydesk_auth_missing_key_total",
			Help: "Requests to /v1/auth without an Authorization: Bearer key (answered 401).",
		}, func() float64 { return float64(s.stats.missingKey.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "keydesk_bad_requests_total",
			Help: "Requests refused as malformed (400, 413 and similar): no verification took place.",
		}, func() float64 { return float64(s.stats.badRequests.Load()) }),
	)
	if kc, ok := s.v.(KeyStateCounter); ok {
		m.reg.MustRegister(keyStates{kc})
	}
	// One handler, so that its limit on concurrent scrapes holds.
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, MaxRequestsInFlight: 4})
	return m
}

// Register adds collectors to the server's registry (a replica's metrics,
// for one); a name already registered is an error.
func (m *Metrics) Register(cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := m.reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// Handler answers Prometheus scrapes of these metrics (at most 4 at once;
// more get 503).
func (m *Metrics) Handler() http.Handler { return m.handler }

// Gatherer returns the registry, for tests and for pushing elsewhere.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// CountDigest counts a delivery attempt of the daily digest; result is one
// of the Digest* constants (any other is ignored).
func (m *Metrics) CountDigest(result string) {
	if c, ok := m.digests[result]; ok {
		c.Inc()
	}
}

// Metrics returns the server's metrics.
func (s *Server) Metrics() *Metrics { return s.metrics }

// count counts a verification answered on endpoint ep.
func (s *Server) count(ep int, r core.Reason) {
	i := reasonIndex(r)
	s.stats.byReason[i].Add(1)
	if i < len(resultOfReason) && !s.uninstrumented {
		s.metrics.results[ep][i].Inc()
	}
}

// countNoRoute counts a valid key on /v1/auth for a path no operation
// has: a refusal (403), so a denied verification in the metrics.
func (s *Server) countNoRoute() {
	s.stats.noRoute.Add(1)
	if !s.uninstrumented {
		s.metrics.results[endpointAuth][reasonIndex(core.ReasonForbidden)].Inc()
	}
}

// monoBase anchors the readings of started and observe: the time since
// it is one read of the monotonic clock, where time.Now reads the wall
// clock too.
var monoBase = time.Now()

// started is when a request to a verification endpoint started, for
// observe.
func (s *Server) started() time.Duration {
	if s.uninstrumented {
		return 0
	}
	return time.Since(monoBase)
}

// observe records the duration of a request to endpoint ep since start.
func (s *Server) observe(ep int, start time.Duration) {
	if !s.uninstrumented {
		s.metrics.durations[ep].Observe((time.Since(monoBase) - start).Seconds())
	}
}

// keyStates is the keydesk_keys collector: the verifier's keys counted by
// state at each scrape (a scan of packed times, no record read).
type keyStates struct{ c KeyStateCounter }

var keysDesc = prometheus.NewDesc("keydesk_keys",
	"Keys by state at scrape time: active (neither expired nor idle), expired, idle (unused for 90 days).",
	[]string{"state"}, nil)

func (k keyStates) Describe(ch chan<- *prometheus.Desc) { ch <- keysDesc }

func (k keyStates) Collect(ch chan<- prometheus.Metric) {
	st := k.c.CountStates()
	ch <- prometheus.MustNewConstMetric(keysDesc, prometheus.GaugeValue, float64(st.Active), "active")
	ch <- prometheus.MustNewConstMetric(keysDesc, prometheus.GaugeValue, float64(st.Expired), "expired")
	ch <- prometheus.MustNewConstMetric(keysDesc, prometheus.GaugeValue, float64(st.Idle), "idle")
}
