package workspace

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/mail"
	"github.com/keydesk/keydesk/pgstore"
	"github.com/keydesk/keydesk/replica"
	"github.com/keydesk/keydesk/seal"
	"github.com/keydesk/keydesk/storage"
)

// ErrSharedMaterialMissing means this computer's keyring holds no signing
// material for the shared store.
var ErrSharedMaterialMissing = errors.New("this computer holds no signing material for the shared store")

// SharedTimeout bounds opening or initialising a shared store.
const SharedTimeout = 30 * time.Second

// RedactURL returns a store URL fit for messages: its password removed.
// A URL that does not parse is not shown at all.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return "the shared store"
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// openShared opens the shared store at opts.StoreURL with this computer's
// admin material (the keyring entry of the store's id), after moving a
// signed state of an older format to the current one and checking its
// records against the store's signed state.
func openShared(opts Options, clock core.Clock, catalog *core.Catalog) (*Workspace, error) {
	ctx, cancel := context.WithTimeout(context.Background(), SharedTimeout)
	defer cancel()
	st, err := pgstore.Open(ctx, opts.StoreURL, pgstore.Options{})
	if err != nil {
		return nil, err
	}
	backend := orOSKeyring(opts.Keyring)
	kr, err := storage.OpenKeyringIn(backend, st.StoreID())
	if errors.Is(err, storage.ErrMasterKeyMissing) {
		err = fmt.Errorf("%w (store %s)", ErrSharedMaterialMissing, st.StoreID())
	}
	if err != nil {
		st.Close()
		return nil, err
	}
	ed, err := kr.EdSigner()
	if err != nil {
		st.Close()
		return nil, err
	}
	// The highest generation this computer accepted: an older signed
	// state is a database put back to an older copy.
	seen, err := kr.SharedGeneration()
	if err != nil {
		st.Close()
		return nil, err
	}
	ss := pgstore.Sealed(st, ed)
	// A state of an older format is moved to the current one first (not
	// one older than seen: that is an old-format state written back
	// after the move).
	if err := ss.UpgradeState(ctx, seen); err != nil {
		st.Close()
		return nil, fmt.Errorf("open %s: %w", RedactURL(opts.StoreURL), err)
	}
	if catalog == nil {
		// The store's catalog, the one its signed state names (not an
		// older one written back, nor none in place of one).
		if catalog, err = sharedCatalog(ctx, st, ed.Verifier(), seen); err != nil {
			st.Close()
			return nil, fmt.Errorf("open %s: %w", RedactURL(opts.StoreURL), err)
		}
	}
	// The replica reads the records with the store's signed state (not
	// one older than the keyring's generation) and builds the window's
	// service over them: its own changes are signed with the admins' key,
	// other admins' reach it through the replica (Follow). The catalog is
	// given, so the replica keeps it (an import is used after a reopen).
	rep, err := replica.Open(ctx, st, st.StoreID(), ed.Verifier(), replica.Options{
		Clock: clock, Catalog: catalog, Heartbeat: SharedHeartbeat, Generations: kr,
		NewService: func(keys []*core.Key, catalog *core.Catalog) (*core.Service, error) {
			return core.NewService(pgstore.Preload(ss, keys), ed, clock, catalog)
		},
	})
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("open %s: %w", RedactURL(opts.StoreURL), err)
	}
	ss.OnCommit(func(gen uint64) {
		if err := kr.RecordSharedGeneration(gen); err != nil {
			slog.Warn("cannot record the shared store's generation in the keyring", "generation", gen, "error", err)
		}
	})
	svc := rep.Service()
	svc.Actor = Actor()
	return &Workspace{url: RedactURL(opts.StoreURL), store: ss, kind: KindShared, replica: rep, keyring: kr, service: svc, clock: clock}, nil
}

// InitResult says what InitShared did.
type InitResult struct {
	// StoreID is the shared store's id (its keyring entry's name).
	StoreID string
	// Moved is how many keys came from the local store (--from).
	Moved int
}

// InitShared creates the shared store at opts.StoreURL: the schema, the
// store's signing material in this computer's keyring (opts.Keyring) and
// its first signed state. With from set it moves the local store in that
// data folder there instead, keeping its id and signing material: its
// records' MACs are checked (a record that fails stops the move, nothing
// written) and their Ed25519 signatures, made by the local store with the
// same key, carried over, so every key it issued verifies on the shared
// store. A database that already holds a
// store fails with pgstore.ErrAlreadyInitialised, changing nothing.
func InitShared(opts Options, from string) (*InitResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), SharedTimeout)
	defer cancel()
	backend := orOSKeyring(opts.Keyring)
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	var (
		st  *pgstore.Store
		ed  *seal.EdSigner
		res = &InitResult{}
	)
	if from == "" {
		id, err := seal.NewStoreID()
		if err != nil {
			return nil, err
		}
		// The keyring first: a keyring failure writes nothing.
		kr, err := storage.CreateKeyringIn(backend, id)
		if err != nil {
			return nil, err
		}
		if ed, err = kr.EdSigner(); err != nil {
			kr.Forget()
			return nil, err
		}
		st, err = pgstore.Init(ctx, opts.StoreURL, pgstore.InitOptions{StoreID: id, Now: now})
		if err != nil {
			kr.Forget()
			return nil, err
		}
		res.StoreID = id
	} else {
		// The store and its keyring entries only: the move reads the
		// records itself, so no key service is built over them.
		dir, err := folderPath(from)
		if err != nil {
			return nil, err
		}
		store, kr, err := openFolder(dir, backend, opts.Timeout, now)
		if err != nil {
			return nil, err
		}
		defer store.Close()
		if ed, err = kr.EdSigner(); err != nil {
			return nil, err
		}
		// The local store's records carry the shared store's Ed25519
		// signatures already (storage's schema v5): they move as they
		// are, once the store's check of them (started at open) is done
		// and each record's MAC checks out (a tampered record has no
		// valid signature and stops the move).
		if err := store.SignatureCheck(); err != nil {
			return nil, fmt.Errorf("%w; nothing was moved", err)
		}
		keys, sigs, err := store.ListSignedKeys()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", from, err)
		}
		signer := kr.Signer()
		for i, k := range keys {
			if !signer.VerifyRecord(k.MACPayload(), k.MAC) || len(sigs[i]) == 0 {
				return nil, fmt.Errorf("%w: key %s (%q) in %s; nothing was moved", core.ErrTampered, k.ID, k.Name, from)
			}
			k.MAC = sigs[i]
		}
		ev := core.AuditEvent{Time: now.UTC(), Actor: Actor(), Action: core.ActionStoreMoved,
			Detail: fmt.Sprintf("moved %d keys from the data folder %s", len(keys), dir)}
		st, err = pgstore.InitFrom(ctx, opts.StoreURL, resigned{store, keys}, []string{mail.SettingName}, ev, pgstore.Options{})
		if err != nil {
			return nil, err
		}
		res.StoreID, res.Moved = st.StoreID(), len(keys)
	}
	defer st.Close()
	if err := pgstore.Sealed(st, ed).SealFromRows(ctx); err != nil {
		if errors.Is(err, pgstore.ErrAlreadyInitialised) {
			return nil, err
		}
		return nil, fmt.Errorf("%w (the schema was created; drop the database's tables and run store init again)", err)
	}
	return res, nil
}

// resigned is a local store whose records are given with their Ed25519
// signatures in place of their MACs, as the shared store keeps them.
type resigned struct {
	*storage.Store
	keys []*core.Key
}

func (r resigned) ListKeys() ([]*core.Key, error) { return r.keys, nil }

// Audit returns the audit log, newest first.
func (w *Workspace) Audit() ([]core.AuditEvent, error) { return w.store.Audit() }

// KeyAudit returns the audit entries about the keys ids, newest first.
func (w *Workspace) KeyAudit(ids ...string) ([]core.AuditEvent, error) {
	return w.store.KeyAudit(ids...)
}

// Location names what is open, for messages: the data folder, or the
// shared store's URL without its password.
func (w *Workspace) Location() string {
	if w.kind == KindShared {
		return w.url
	}
	return w.dir
}
