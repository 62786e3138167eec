package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/credential"
	"github.com/keydesk/keydesk/mail"
	"github.com/keydesk/keydesk/server"
	"github.com/keydesk/keydesk/workspace"
)

// CredentialEnv names the verify-only credential file when serve has no
// --credential.
const CredentialEnv = "KEYDESK_CREDENTIAL"

// FollowURLEnv names the direct URL a replica listens for changes on when
// serve has no --follow-url.
const FollowURLEnv = "KEYDESK_FOLLOW_URL"

// runSharedServe is `keydesk --store URL serve`: a replica of the shared
// store, verifying from memory with verify-only material (the credential
// file, else this computer's keyring), following every change (listening
// on followURL when given).
func runSharedServe(ctx context.Context, env *Env, listen string, loopback bool, credFile, followURL string, metrics *metricsPlan) error {
	if credFile == "" {
		credFile = env.Getenv(CredentialEnv)
	}
	if followURL == "" {
		followURL = env.Getenv(FollowURLEnv)
	}
	if followURL != "" {
		if err := workspace.CheckFollowURL(followURL); err != nil {
			return usagef("the follow URL (--follow-url or %s) is not a valid PostgreSQL URL", FollowURLEnv)
		}
	}
	var cred *credential.Credential
	if credFile != "" {
		data, err := os.ReadFile(credFile)
		if err != nil {
			return usagef("cannot read the credential %s", credFile)
		}
		if credential.Encrypted(data) {
			return usagef("%s is an admin credential (passphrase-protected); a server takes the verify-only one: keydesk credential export --verify-only", credFile)
		}
		if cred, err = credential.Decode(data, ""); err != nil {
			return usagef("%s: %s", credFile, sentence(err.Error()))
		}
	}
	logger := slog.New(slog.NewTextHandler(env.Stderr, nil))
	opts := workspace.ReplicaOptions{StoreURL: env.StoreURL, Credential: cred, Dir: env.DataDir, FollowURL: followURL,
		OnError: func(err error) {
			logger.Warn("following the shared store", "error", err)
		}}
	if env.Now != nil {
		opts.Clock = core.FixedClock(*env.Now)
	}
	if env.CatalogFile != "" {
		var err error
		if opts.Catalog, err = loadCatalog(env); err != nil {
			return err
		}
	}
	r, err := workspace.OpenReplica(ctx, opts)
	if err != nil {
		var other *workspace.OtherStoreError
		switch {
		case errors.As(err, &other):
			return usagef("%s is the credential of store %s, but the shared store holds store %s", credFile, other.Credential, other.Store)
		case errors.Is(err, workspace.ErrOtherStore):
			return usagef("the credential belongs to another store than the database holds")
		}
		return err
	}
	defer r.Close()
	var passwords mail.PasswordStore = envPassword{env: env}
	if kr := r.Keyring(); kr != nil && env.Getenv(SMTPPasswordFileEnv) == "" {
		passwords = kr
	}
	ln, err := listenAPI(env, listen, loopback)
	if err != nil {
		return err
	}
	svc := r.Service()
	usage, err := r.UsageRecorder()
	if err != nil {
		return err
	}
	srv := server.New(svc, metrics.options(server.Options{Logger: logger, Health: func() any { return r.Health() }, Usage: usage}))
	if err := srv.Metrics().Register(r.Collector()); err != nil {
		ln.Close()
		return fmt.Errorf("register the replica's metrics: %w", err)
	}
	maddr, stopMetrics, err := metrics.start(ctx, env, logger, srv)
	if err != nil {
		ln.Close()
		return err
	}
	defer stopMetrics()
	// The follower stops for good only when the database holds another
	// store: then the server stops too rather than answer from data that
	// belongs to no store.
	ctx, stopAll := context.WithCancel(ctx)
	// The replica says which keys changed and when its data goes out of
	// date or is current again: the log records both (the changes at
	// debug level).
	defer r.Subscribe(replicaLog(logger))()
	done := make(chan error, 1)
	go func() {
		err := r.Run(ctx)
		if ctx.Err() == nil {
			logger.Error("stopped following the shared store; the server stops", "error", err)
			stopAll()
		}
		done <- err
	}()
	defer func() {
		stopAll()
		<-done
	}()
	// The daily digest: whichever of the processes sharing the store
	// claims a slot sends it, exactly once.
	sched := r.Scheduler(passwords, digestWarning(logger))
	countDigests(sched, srv)
	stopDigest := runDigest(ctx, logger, sched)
	defer func() {
		stopAll()
		stopDigest()
	}()
	fmt.Fprintf(env.Stdout, "Keydesk verification API on http://%s (shared store %s, %d keys)%s; stop with Ctrl+C.\n", ln.Addr(), workspace.RedactURL(env.StoreURL), len(svc.List()), metrics.banner(maddr))
	if err := srv.Serve(ctx, ln); err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, "Stopped; last-used times saved.")
	return nil
}

// SMTPPasswordFileEnv names a file holding the SMTP password for a
// verification server that sends the digest (it has no OS keyring);
// SMTPPasswordEnv holds the password itself.
const (
	SMTPPasswordFileEnv = "KEYDESK_SMTP_PASSWORD_FILE"
	SMTPPasswordEnv     = "KEYDESK_SMTP_PASSWORD"
)

// envPassword is a server's SMTP password: from the file named by
// KEYDESK_SMTP_PASSWORD_FILE, else KEYDESK_SMTP_PASSWORD; read-only.
type envPassword struct{ env *Env }

func (p envPassword) MailPassword() (string, error) {
	if f := p.env.Getenv(SMTPPasswordFileEnv); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("read the SMTP password from %s (%s)", f, SMTPPasswordFileEnv)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	return p.env.Getenv(SMTPPasswordEnv), nil
}

func (envPassword) SetMailPassword(string) error {
	return errors.New("a verification server does not store the SMTP password; set it with keydesk mail set on an admin's computer")
}

// replicaLog returns a replica subscriber that logs the keys each update
// changed (at debug level) and each change of the replica's health after
// the first: a warning when its data may be out of date, a note when it is
// current again.
func replicaLog(logger *slog.Logger) func(workspace.ReplicaUpdate) {
	told, degraded := false, false
	return func(u workspace.ReplicaUpdate) {
		if len(u.IDs) > 0 {
			logger.Debug("applied changes of the shared store", "keys", len(u.IDs))
		}
		switch {
		case !told && !u.Degraded:
			told = true
		case u.Degraded && !degraded:
			told = true
			degraded = true
			logger.Warn("the shared store's data may be out of date; answering from memory")
		case !u.Degraded && degraded:
			degraded = false
			logger.Info("the shared store's data is current again")
		}
	}
}
