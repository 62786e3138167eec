package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/keydesk/keydesk/internal/netaddr"
	"github.com/keydesk/keydesk/mail"
	"github.com/keydesk/keydesk/server"
	"github.com/keydesk/keydesk/workspace"
)

const serveUsage = "keydesk serve [--listen 127.0.0.1:8765] [--allow-remote] [--metrics-listen HOST:PORT]   (runs until Ctrl+C / SIGTERM)"

// newServeCommand is `keydesk serve`.
func newServeCommand(env *Env) *cobra.Command {
	var listen, cred, followURL string
	var allowRemote bool
	var metrics metricsPlan
	cmd := &cobra.Command{
		Use:   "serve [--listen HOST:PORT] [--allow-remote]",
		Short: "Run the verification API and the daily digest e-mail until stopped",
		Long: "Run the HTTP verification API (POST /v1/keys/verify, GET /v1/auth for gateways) and deliver\n" +
			"the daily expiration digest, until Ctrl+C or SIGTERM; last-used times are saved on the way out.\n" +
			"It listens on loopback unless --allow-remote. GET /metrics answers Prometheus on the same listener,\n" +
			"or on --metrics-listen.",
		Args:              noArgs(serveUsage),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(*cobra.Command, []string) error {
			return runServe(env, listen, allowRemote, cred, followURL, &metrics)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", netaddr.DefaultListen, "host:port to listen on (loopback unless --allow-remote)")
	cmd.Flags().StringVar(&cred, "credential", "", "with --store: the verify-only credential `FILE` (default: $KEYDESK_CREDENTIAL, else this computer's keyring)")
	_ = cmd.MarkFlagFilename("credential")
	cmd.Flags().StringVar(&followURL, "follow-url", "", "with --store: a direct PostgreSQL `URL` used only to LISTEN for changes, when --store goes through a pooler in transaction mode (default: $"+FollowURLEnv+")")
	cmd.Flags().BoolVar(&allowRemote, "allow-remote", false, "allow a non-loopback --listen address (the API is then reachable from the network)")
	_ = cmd.RegisterFlagCompletionFunc("listen", fixedCompletions(netaddr.DefaultListen, "localhost:8765", "[::1]:8765"))
	addMetricsFlags(cmd, &metrics)
	return cmd
}

func runServe(env *Env, listen string, allowRemote bool, cred, followURL string, metrics *metricsPlan) error {
	loopback, err := loopbackAddress(listen)
	if err != nil {
		return err
	}
	if !loopback && !allowRemote {
		return usagef("%s is not a loopback address; listening there makes the verification API reachable from the network, so add --allow-remote if that is intended", listen)
	}
	if err := metrics.check(env, loopback); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(env.context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if env.StoreURL != "" {
		return runSharedServe(ctx, env, listen, loopback, cred, followURL, metrics)
	}
	if cred != "" {
		return usagef("--credential is for a shared store; add --store URL")
	}
	if followURL != "" {
		return usagef("--follow-url is for a shared store; add --store URL")
	}
	return withWorkspace(env, func(b *workspace.Workspace) error {
		ln, err := listenAPI(env, listen, loopback)
		if err != nil {
			return err
		}
		logger := slog.New(slog.NewTextHandler(env.Stderr, nil))
		usage, err := b.UsageRecorder()
		if err != nil {
			return err
		}
		srv := server.New(b.Service(), metrics.options(server.Options{Logger: logger, Usage: usage}))
		maddr, stopMetrics, err := metrics.start(ctx, env, logger, srv)
		if err != nil {
			ln.Close()
			return err
		}
		defer stopMetrics()

		// The daily expiration digest, delivered while serve runs.
		sched := b.Scheduler(digestWarning(logger))
		countDigests(sched, srv)
		stopDigest := runDigest(ctx, logger, sched)
		defer stopDigest()

		fmt.Fprintf(env.Stdout, "Keydesk verification API on http://%s (data folder %s)%s; stop with Ctrl+C.\n", ln.Addr(), b.Dir(), metrics.banner(maddr))
		if err := srv.Serve(ctx, ln); err != nil {
			return err
		}
		fmt.Fprintln(env.Stdout, "Stopped; last-used times saved.")
		return nil
	})
}

// digestWarning logs a digest that could not be sent (the scheduler
// retries it).
func digestWarning(logger *slog.Logger) func(error) {
	return func(err error) {
		logger.Warn("the expiration digest could not be sent; it will be retried", "error", err)
	}
}

// runDigest runs the digest scheduler in the background until ctx ends or
// stop is called; stop waits for it to return.
func runDigest(ctx context.Context, logger *slog.Logger, sched *mail.Scheduler) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := sched.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			logger.Error("the digest scheduler stopped", "error", err)
		}
	})
	return func() {
		cancel()
		wg.Wait()
	}
}

// loopbackAddress checks a host:port and reports whether its host is a
// loopback address ("localhost" counts; an empty host means every
// interface).
func loopbackAddress(hostport string) (bool, error) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return false, usagef("--listen must be host:port, such as %s", netaddr.DefaultListen)
	}
	if _, err := net.LookupPort("tcp", port); err != nil || port == "" {
		return false, usagef("--listen %s has no valid port", hostport)
	}
	return netaddr.IsLoopbackHost(host), nil
}

// listenAPI opens the verification API's listener on listen: refused (bad
// usage) when loopback is asked and the address is not loopback; a warning
// on stderr when the API is reachable from the network.
func listenAPI(env *Env, listen string, loopback bool) (net.Listener, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("could not listen on %s (is another program using that port?): %w", listen, err)
	}
	if loopback && !netaddr.IsLoopbackAddr(ln.Addr()) {
		ln.Close()
		return nil, usagef("%s resolved to %s, which is not a loopback address; add --allow-remote if that is intended", listen, ln.Addr())
	}
	if !loopback {
		fmt.Fprintf(env.Stderr, "keydesk: warning: the verification API listens on %s and is reachable from the network; put it behind a firewall or a TLS-terminating proxy.\n", ln.Addr())
	}
	return ln, nil
}
