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

	"github.com/keydesk/keydesk/mail"
	"github.com/keydesk/keydesk/server"
	"github.com/keydesk/keydesk/workspace"
)

func init() {
	register("serve", "run the verification API and the daily digest e-mail until stopped", runServe)
}

// DefaultListen is where `keydesk serve` listens unless told otherwise.
const DefaultListen = "127.0.0.1:8765"

const serveUsage = "keydesk serve [--listen 127.0.0.1:8765] [--allow-remote]   (runs until Ctrl+C / SIGTERM)"

// serveContext returns the context `keydesk serve` runs in: it ends on
// SIGINT or SIGTERM. Tests replace it.
var serveContext = func() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func runServe(env *Env, args []string) error {
	fs := newFlagSet("serve")
	listen := fs.String("listen", DefaultListen, "host:port to listen on (loopback unless --allow-remote)")
	allowRemote := fs.Bool("allow-remote", false, "allow a non-loopback --listen address (the API is then reachable from the network)")
	if err := noArgs(env, fs, serveUsage, args); err != nil {
		return err
	}
	loopback, err := loopbackAddress(*listen)
	if err != nil {
		return err
	}
	if !loopback && !*allowRemote {
		return usagef("%s is not a loopback address; listening there makes the verification API reachable from the network, so add --allow-remote if that is intended", *listen)
	}
	ctx, stop := serveContext()
	defer stop()
	return withBackend(env, func(b *workspace.Workspace) error {
		ln, err := net.Listen("tcp", *listen)
		if err != nil {
			return fmt.Errorf("could not listen on %s (is another program using that port?): %w", *listen, err)
		}
		if tcp, ok := ln.Addr().(*net.TCPAddr); ok && loopback && !tcp.IP.IsLoopback() {
			ln.Close()
			return usagef("%s resolved to %s, which is not a loopback address; add --allow-remote if that is intended", *listen, tcp.IP)
		}
		if !loopback {
			fmt.Fprintf(env.Stderr, "keydesk: warning: the verification API listens on %s and is reachable from the network; put it behind a firewall or a TLS-terminating proxy.\n", ln.Addr())
		}
		logger := slog.New(slog.NewTextHandler(env.Stderr, nil))
		srv := server.New(b.Service, server.Options{Logger: logger})

		// The daily expiration digest, delivered while serve runs.
		sched := &mail.Scheduler{
			Deliverer: mail.NewDeliverer(b.Store, b.Keyring, b.Service, b.Service.Actor),
			Clock:     mail.RealClock{Clock: b.Clock},
			OnError: func(err error) {
				logger.Warn("the expiration digest could not be sent; it will be retried", "error", err)
			},
		}
		schedCtx, stopSched := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Go(func() {
			if err := sched.Run(schedCtx); err != nil && !errors.Is(err, context.Canceled) {
				logger.Error("the digest scheduler stopped", "error", err)
			}
		})
		defer func() {
			stopSched()
			wg.Wait()
		}()

		fmt.Fprintf(env.Stdout, "Keydesk verification API on http://%s (data folder %s); stop with Ctrl+C.\n", ln.Addr(), b.Dir)
		if err := srv.Serve(ctx, ln); err != nil {
			return err
		}
		fmt.Fprintln(env.Stdout, "Stopped; last-used times saved.")
		return nil
	})
}

// loopbackAddress checks a host:port and reports whether its host is a
// loopback address ("localhost" counts; an empty host means every
// interface).
func loopbackAddress(hostport string) (bool, error) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return false, usagef("--listen must be host:port, such as %s", DefaultListen)
	}
	if _, err := net.LookupPort("tcp", port); err != nil || port == "" {
		return false, usagef("--listen %s has no valid port", hostport)
	}
	if host == "localhost" {
		return true, nil
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback(), nil
}
