// Package server is Keydesk's verification API:
//
//	POST /v1/keys/verify   services ask "is this key allowed to do that?"
//	GET  /v1/auth          reverse proxies (nginx auth_request, Traefik
//	                       ForwardAuth) ask the same about a request they hold
//	ANY  /v1/auth/<path>   the same for Envoy ext_authz over HTTP
//	                       (path_prefix: /v1/auth)
//	GET  /healthz          liveness
//	GET  /v1/stats         verification counters per reason
//	GET  /metrics          the same and more for Prometheus (metrics.go)
//
// The server never logs or echoes a key: failed verifications are counted per
// reason, not logged. No input yields a 500: bad requests get a 4xx with one
// sentence in {"error": "..."}.
//
// A client behind a gateway must never choose what /v1/auth checks: the two
// sets of forwarded headers are never mixed and must agree when both are
// sent, the Envoy form trusts only its request line, and paths an upstream
// could read as another path match no operation (core.Catalog.MatchRoute).
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/keydesk/keydesk/core"
)

// KeyChecker answers whether a key may do something; *core.Service
// satisfies it.
type KeyChecker interface {
	// Verify checks a presented secret against a target.
	Verify(secret string, t core.Target) core.Verification
	// Catalog returns the catalog operations are looked up in.
	Catalog() *core.Catalog
}

// UseVerifier is implemented by verifiers that tell a real use from an
// admin's test (*core.Service does): the server, which answers real
// clients, calls VerifyUse so that Last used counts its verifications.
// A KeyChecker without it is called through Verify.
type UseVerifier interface {
	// VerifyUse is Verify that also records the key's last use.
	VerifyUse(secret string, t core.Target) core.Verification
}

// LastUsedFlusher is implemented by verifiers that batch last-used times in
// memory (*core.Service does). Serve runs the flusher alongside the HTTP
// server and lets it flush a last time on shutdown.
type LastUsedFlusher interface {
	RunLastUsedFlusher(ctx context.Context, interval time.Duration, report func(error))
}

// UsageCounter counts real uses per key and day (*core.UsageRecorder is
// one). When it also has Run, Serve runs it alongside the HTTP server, as
// the last-used flusher, and lets it write a last time on shutdown.
type UsageCounter interface {
	Count(v core.Verification)
}

// usageRunner is a UsageCounter that writes its counts in the background.
type usageRunner interface {
	Run(ctx context.Context, interval time.Duration, report func(error))
}

// Limits and timeouts of the HTTP server.
const (
	// MaxBodyBytes is the largest request body accepted (413 beyond).
	MaxBodyBytes = 64 << 10
	// MaxHeaderBytes bounds the request line and headers (431 beyond).
	MaxHeaderBytes = 32 << 10

	ReadHeaderTimeout = 5 * time.Second
	ReadTimeout       = 15 * time.Second
	WriteTimeout      = 15 * time.Second
	// IdleTimeout is long enough for gateways to keep connections alive
	// between requests.
	IdleTimeout = 2 * time.Minute
	// DefaultShutdownTimeout is how long Serve waits for requests in flight
	// when its context ends.
	DefaultShutdownTimeout = 10 * time.Second
)

// Options tune a Server. The zero value is ready to use.
type Options struct {
	// Logger receives request errors (never a key); nil means slog.Default().
	Logger *slog.Logger
	// FlushInterval is how often last-used times are written; zero means
	// core.LastUsedFlushInterval.
	FlushInterval time.Duration
	// ShutdownTimeout bounds the graceful shutdown in Serve; zero means
	// DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// Health, if set, is what GET /healthz answers, as JSON, always with
	// status 200 (a replica of a shared store reports there whether its
	// data is current); nil answers "ok".
	Health func() any
	// MetricsElsewhere leaves GET /metrics out of the handler: the caller
	// serves Metrics().Handler() on another listener, or nowhere.
	MetricsElsewhere bool
	// Usage, if set, counts every answer of both verification endpoints
	// (never an admin's test, which does not go through the server).
	Usage UsageCounter
}

// Server is the verification API. It is an http.Handler; Serve runs it on a
// listener with the timeouts and limits above.
type Server struct {
	v     KeyChecker
	uv    UseVerifier // v as a UseVerifier, nil if it is not one
	log   *slog.Logger
	opts  Options
	stats counters
	// metrics is never nil (see Metrics).
	metrics *Metrics
	// uninstrumented leaves the verification endpoints out of the
	// metrics: only BenchmarkHTTPVerify sets it, for its baseline.
	uninstrumented bool
}

// New returns a Server answering for v.
func New(v KeyChecker, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = core.LastUsedFlushInterval
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = DefaultShutdownTimeout
	}
	uv, _ := v.(UseVerifier)
	s := &Server{v: v, uv: uv, log: opts.Logger, opts: opts}
	s.metrics = newMetrics(s)
	return s
}

// use verifies a key presented by a client: a real use.
func (s *Server) use(secret string, t core.Target) core.Verification {
	if s.opts.Usage != nil {
		return s.useCounted(secret, t)
	}
	if s.uv != nil {
		return s.uv.VerifyUse(secret, t)
	}
	return s.v.Verify(secret, t)
}

// useCounted is use that also counts the answer (Options.Usage).
func (s *Server) useCounted(secret string, t core.Target) core.Verification {
	var v core.Verification
	if s.uv != nil {
		v = s.uv.VerifyUse(secret, t)
	} else {
		v = s.v.Verify(secret, t)
	}
	s.opts.Usage.Count(v)
	return v
}

// Route paths.
const (
	PathVerify  = "/v1/keys/verify"
	PathAuth    = "/v1/auth"
	PathHealthz = "/healthz"
	PathStats   = "/v1/stats"
)

// ServeHTTP routes a request. A panic (which no input is meant to reach) is
// answered with a 500 and logged, never crashing the process.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if rec := recover(); rec != nil {
			if rec == http.ErrAbortHandler {
				panic(rec)
			}
			s.log.Error("internal error answering a request", "method", r.Method, "path", redact(r.URL.Path), "panic", fmt.Sprint(rec))
			writeError(w, http.StatusInternalServerError, "Keydesk could not answer this request because of an internal error.")
		}
	}()
	p := r.URL.Path
	switch {
	case p == PathVerify:
		if !s.allowMethod(w, r, http.MethodPost) {
			return
		}
		start := s.started()
		s.verify(w, r)
		s.observe(endpointVerify, start)
	case p == PathAuth:
		if !s.allowMethod(w, r, http.MethodGet, http.MethodHead) {
			return
		}
		start := s.started()
		s.auth(w, r, false)
		s.observe(endpointAuth, start)
	case strings.HasPrefix(p, PathAuth+"/"):
		// Envoy ext_authz forwards the original method and path under the
		// configured path_prefix, so every method is accepted here.
		start := s.started()
		s.auth(w, r, true)
		s.observe(endpointAuth, start)
	case p == PathHealthz:
		if !s.allowMethod(w, r, http.MethodGet, http.MethodHead) {
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		if s.opts.Health != nil {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(s.opts.Health())
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	case p == PathStats:
		if !s.allowMethod(w, r, http.MethodGet, http.MethodHead) {
			return
		}
		writeJSON(w, http.StatusOK, s.Stats())
	case p == PathMetrics && !s.opts.MetricsElsewhere:
		if !s.allowMethod(w, r, http.MethodGet, http.MethodHead) {
			return
		}
		s.metrics.Handler().ServeHTTP(w, r)
	default:
		msg := "There is nothing at this path; the API has POST /v1/keys/verify, GET /v1/auth, GET /healthz, GET /v1/stats and GET /metrics."
		if s.opts.MetricsElsewhere {
			msg = "There is nothing at this path; the API has POST /v1/keys/verify, GET /v1/auth, GET /healthz and GET /v1/stats."
		}
		s.fail(w, r, http.StatusNotFound, msg)
	}
}

// allowMethod answers 405 with an Allow header unless r uses one of methods.
func (s *Server) allowMethod(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	allow := strings.Join(methods, ", ")
	w.Header().Set("Allow", allow)
	s.fail(w, r, http.StatusMethodNotAllowed, fmt.Sprintf("%s takes %s only.", r.URL.Path, strings.Join(methods, " or ")))
	return false
}

// fail answers a client error and logs it (the path with any key redacted,
// never a body or a header value).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
		s.stats.badRequests.Add(1)
	}
	s.log.Warn("request refused", "method", sanitizeMethod(r.Method), "path", redact(r.URL.Path), "status", status, "error", msg)
	writeError(w, status, msg)
}

// keyLike matches a key or any fragment of one that starts with the prefix.
var keyLike = regexp.MustCompile(`kdk_[0-9A-Za-z]*`)

// redact hides anything shaped like a key, or the start of one, and bounds
// the length of a value that goes to the log.
func redact(s string) string {
	s = keyLike.ReplaceAllString(s, "kdk_[redacted]")
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "") + "…"
	}
	return s
}

func sanitizeMethod(m string) string {
	if len(m) > 16 {
		return m[:16] + "…"
	}
	return m
}

// HTTPServer returns an http.Server for the handler with every timeout and
// the header limit set.
func (s *Server) HTTPServer() *http.Server {
	return &http.Server{
		Handler:           s,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// Serve answers requests on ln until ctx ends, then shuts down gracefully:
// it stops accepting, waits up to the shutdown timeout for requests in
// flight, and (when the verifier is a LastUsedFlusher) stops the last-used
// flusher, which writes the pending times a last time. Serve closes ln. It
// returns nil after a shutdown asked for by ctx.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := s.HTTPServer()
	flushCtx, stopFlush := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	if f, ok := s.v.(LastUsedFlusher); ok {
		wg.Go(func() {
			f.RunLastUsedFlusher(flushCtx, s.opts.FlushInterval, func(err error) {
				s.log.Error("could not save last-used times", "error", err)
			})
		})
	}
	if u, ok := s.opts.Usage.(usageRunner); ok {
		wg.Go(func() {
			u.Run(flushCtx, core.UsageFlushInterval, func(err error) {
				s.log.Error("could not save usage counts", "error", err)
			})
		})
	}
	defer func() {
		stopFlush()
		wg.Wait()
	}()

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	if err != nil {
		_ = hs.Close()
		err = fmt.Errorf("shut down the verification API: %w", err)
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = fmt.Errorf("serve %s: %w", ln.Addr(), serr)
	}
	return err
}
