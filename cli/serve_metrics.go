package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"

	"github.com/spf13/cobra"

	"github.com/keydesk/keydesk/internal/netaddr"
	"github.com/keydesk/keydesk/mail"
	"github.com/keydesk/keydesk/server"
)

// metricsPlan is where serve answers GET /metrics: on the API's listener
// (the default), on a listener of its own (--metrics-listen), or nowhere
// (the API's listener is reachable from the network and the metrics were
// not asked for there).
type metricsPlan struct {
	// listen is --metrics-listen; empty means the API's listener.
	listen string
	// loopback is whether listen names a loopback address.
	loopback bool
	// allowRemote is --metrics-allow-remote.
	allowRemote bool
	// off: no /metrics anywhere.
	off bool
}

// addMetricsFlags adds --metrics-listen and --metrics-allow-remote.
func addMetricsFlags(cmd *cobra.Command, p *metricsPlan) {
	cmd.Flags().StringVar(&p.listen, "metrics-listen", "", "serve GET /metrics (Prometheus) on this host:port instead of the API's listener (loopback unless --metrics-allow-remote)")
	cmd.Flags().BoolVar(&p.allowRemote, "metrics-allow-remote", false, "allow /metrics on a non-loopback address (the API's listener with --allow-remote, or --metrics-listen)")
	_ = cmd.RegisterFlagCompletionFunc("metrics-listen", fixedCompletions("127.0.0.1:9765", "localhost:9765", "[::1]:9765"))
}

// check validates the flags against the API's listener (apiLoopback): a
// non-loopback --metrics-listen needs --metrics-allow-remote, and the
// metrics never follow the API onto a network-reachable listener unless
// asked for.
func (p *metricsPlan) check(env *Env, apiLoopback bool) error {
	if p.listen == "" {
		if !apiLoopback && !p.allowRemote {
			p.off = true
			fmt.Fprintln(env.Stderr, "keydesk: GET /metrics is not served on the API's listener, which is reachable from the network; add --metrics-listen 127.0.0.1:PORT, or --metrics-allow-remote to serve it there.")
		}
		return nil
	}
	host, port, err := net.SplitHostPort(p.listen)
	if err != nil {
		return usagef("--metrics-listen must be host:port, such as 127.0.0.1:9765")
	}
	if _, err := net.LookupPort("tcp", port); err != nil || port == "" {
		return usagef("--metrics-listen %s has no valid port", p.listen)
	}
	p.loopback = netaddr.IsLoopbackHost(host)
	if !p.loopback && !p.allowRemote {
		return usagef("%s is not a loopback address; serving the metrics there makes them reachable from the network, so add --metrics-allow-remote if that is intended", p.listen)
	}
	return nil
}

// options sets the server options the plan implies.
func (p *metricsPlan) options(o server.Options) server.Options {
	o.MetricsElsewhere = p.off || p.listen != ""
	return o
}

// start opens the metrics listener, if the plan has one, and serves
// srv's metrics there until ctx ends; stop shuts it down and waits. It
// returns the address listened on ("" without a listener of its own).
func (p *metricsPlan) start(ctx context.Context, env *Env, logger *slog.Logger, srv *server.Server) (addr string, stop func(), err error) {
	if p.off || p.listen == "" {
		return "", func() {}, nil
	}
	ln, err := net.Listen("tcp", p.listen)
	if err != nil {
		return "", nil, fmt.Errorf("could not listen on %s for the metrics (is another program using that port?): %w", p.listen, err)
	}
	if p.loopback && !netaddr.IsLoopbackAddr(ln.Addr()) {
		ln.Close()
		return "", nil, usagef("%s resolved to %s, which is not a loopback address; add --metrics-allow-remote if that is intended", p.listen, ln.Addr())
	}
	if !p.loopback {
		fmt.Fprintf(env.Stderr, "keydesk: warning: the metrics on %s are reachable from the network; firewall them.\n", ln.Addr())
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+server.PathMetrics, srv.Metrics().Handler())
	hs := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: server.ReadHeaderTimeout,
		ReadTimeout:       server.ReadTimeout,
		WriteTimeout:      server.WriteTimeout,
		IdleTimeout:       server.IdleTimeout,
		MaxHeaderBytes:    server.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		errc := make(chan error, 1)
		go func() { errc <- hs.Serve(ln) }()
		select {
		case err := <-errc:
			if !errors.Is(err, http.ErrServerClosed) {
				logger.Error("the metrics listener stopped", "error", err)
			}
			return
		case <-ctx.Done():
		}
		sctx, scancel := context.WithTimeout(context.Background(), server.DefaultShutdownTimeout)
		defer scancel()
		if err := hs.Shutdown(sctx); err != nil {
			_ = hs.Close()
		}
		<-errc
	})
	return ln.Addr().String(), func() { cancel(); wg.Wait() }, nil
}

// banner is what serve's address line says about the metrics.
func (p *metricsPlan) banner(addr string) string {
	if addr == "" {
		return ""
	}
	return fmt.Sprintf(", metrics on http://%s%s", addr, server.PathMetrics)
}

// countDigests counts the digest scheduler's attempts in srv's metrics.
func countDigests(sched *mail.Scheduler, srv *server.Server) {
	m := srv.Metrics()
	sched.OnResult = func(r mail.Result) { m.CountDigest(digestLabel(r)) }
}

// digestLabel is the metrics' name of a digest result.
func digestLabel(r mail.Result) string {
	switch r {
	case mail.ResultSent:
		return server.DigestSent
	case mail.ResultNothing:
		return server.DigestNothing
	case mail.ResultFailed:
		return server.DigestFailed
	case mail.ResultNotConfigured:
		return server.DigestNotConfigured
	case mail.ResultUpToDate:
		return server.DigestUpToDate
	}
	return ""
}
