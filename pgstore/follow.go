package pgstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/keydesk/keydesk/core"
)

// Change is one committed change to the store.
type Change struct {
	// Seq is the change's number; numbers follow commit order.
	Seq int64
	// Time is when the change was written (the server's clock).
	Time time.Time
	// Kind is KindKey, KindSetting or KindDigest; Op is OpInsert,
	// OpUpdate or OpDelete; Name is the key id or setting name.
	Kind, Op, Name string
	// Key is the key's current record for a key insert or update, read
	// when the change was delivered; nil for other changes. For a key
	// change it is nil when the key was deleted since (a later change says
	// so) or its row does not decode: either way the key must no longer
	// verify, so a replica drops it.
	Key *core.Key
}

// FollowStatus is what a follower knows of its connection and data.
type FollowStatus struct {
	// Connected is true while the follower is connected and caught up.
	Connected bool
	// Mode is how the follower learns of changes while connected:
	// FollowListen once a notification it sent itself came back on its
	// listening connection, else FollowPoll (it reads the change table
	// every heartbeat: LISTEN does not work through a pooler in
	// transaction mode).
	Mode string
	// LastSync is when the follower last read every committed change; the
	// age of a replica's data is the time since. Zero until the first.
	LastSync time.Time
	// Seq is the number of the last change handed to apply (whose call
	// may still be running).
	Seq int64
	// Err is the last connection error while not connected.
	Err error
	// Reconnects counts the times the follower connected again after
	// losing its connection (a replica's metrics report it).
	Reconnects int64
}

// Follow modes (FollowStatus.Mode).
const (
	FollowListen = "listen"
	FollowPoll   = "poll"
)

// FollowOptions tune a Follower.
type FollowOptions struct {
	// ConnConfig is the follower's connection; nil means the store's.
	ConnConfig *pgx.ConnConfig
	// ListenConfig, if set, is the connection that only listens for
	// notifications (a direct one, when ConnConfig goes through a pooler
	// in transaction mode); nil means ConnConfig.
	ListenConfig *pgx.ConnConfig
	// Heartbeat is how often a quiet follower checks its connection and
	// reads the change table (also refreshing LastSync); zero means 1 s.
	Heartbeat time.Duration
	// MaxBackoff caps the wait between reconnection attempts; zero means
	// 2 s. The first retry waits 50 ms.
	MaxBackoff time.Duration
	// OnStatus, if set, is called from the follower's goroutine whenever
	// Connected or Mode changes.
	OnStatus func(FollowStatus)
	// OnProblem, if set, is called from the follower's goroutine when the
	// change table holds what Keydesk never writes (ErrForgedChange); the
	// follower ignores it and goes on.
	OnProblem func(error)
}

// FollowerApplicationName is the application_name of a follower's
// connection (unless its configuration sets one), as pg_stat_activity
// shows it.
const FollowerApplicationName = "keydesk-follower"

// ErrStoreChanged means the database no longer holds the store the follower
// was following: another store's id, or fewer changes than were already
// applied (the database was restored from an older copy). A replica must
// stop serving its data and start again from a new snapshot.
var ErrStoreChanged = errors.New("the database no longer holds the store this server loaded")

// ErrTooFarBehind means changes this follower had not yet applied were
// pruned from the change table (it was disconnected for longer than they
// are kept): it must load the store again from a snapshot.
var ErrTooFarBehind = errors.New("this server missed changes that are no longer kept; it must load the store again")

// ErrForgedChange means the change table holds a row numbered beyond what
// the change sequence issued: someone who can write the table as its owner
// wrote it by hand. Trusted, such a number would move followers past
// every later change; followers ignore the row.
var ErrForgedChange = errors.New("the change table holds a change its sequence never issued (written outside Keydesk); it is ignored")

// Follower applies every change committed to a store, in order, from a
// given number on. It listens on ChangeChannel on a connection of its own
// and reads the change table, on a second one, for every change after the
// last one applied: on start, when a notification announces a newer
// change, on each heartbeat and after each reconnection (listening again
// first), so nothing is missed across a reconnect or a lost notification.
// Notifications are only hints (see session); change numbers are trusted
// only as far as the change sequence issued them (see issuedBound).
type Follower struct {
	cfg     *pgx.ConnConfig
	lcfg    *pgx.ConnConfig
	apply   func(Change)
	opts    FollowOptions
	storeID string

	forged int64 // the last ErrForgedChange number reported

	mu     sync.Mutex
	status FollowStatus
	// wasConnected is set at the first connection; guarded by mu.
	wasConnected bool
}

// Follower returns a follower of s that calls apply with every change
// numbered above fromSeq (0: every change; see Snapshot). Start it with Run.
func (s *Store) Follower(fromSeq int64, apply func(Change), opts FollowOptions) *Follower {
	cfg := opts.ConnConfig
	if cfg == nil {
		cfg = s.pool.Config().ConnConfig
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 2 * time.Second
	}
	cfg = withApplicationName(cfg)
	lcfg := cfg
	if opts.ListenConfig != nil {
		lcfg = withApplicationName(opts.ListenConfig)
	}
	return &Follower{cfg: cfg, lcfg: lcfg, apply: apply, opts: opts, storeID: s.storeID, status: FollowStatus{Seq: fromSeq, Mode: FollowPoll}}
}

// ParseListenURL parses the URL of a connection that only listens for
// notifications (FollowOptions.ListenConfig): a direct one to the server
// when the store's URL goes through a pooler in transaction mode. A URL
// that does not parse fails with ErrBadURL (which never quotes it).
func ParseListenURL(url string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, ErrBadURL
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	return cfg, nil
}

// withApplicationName returns a copy of cfg with FollowerApplicationName
// unless cfg names an application.
func withApplicationName(cfg *pgx.ConnConfig) *pgx.ConnConfig {
	cfg = cfg.Copy()
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = FollowerApplicationName
	}
	return cfg
}

// Follow calls apply with every change numbered above fromSeq, in order,
// until ctx is done (see Follower).
func (s *Store) Follow(ctx context.Context, fromSeq int64, apply func(Change)) error {
	return s.Follower(fromSeq, apply, FollowOptions{}).Run(ctx)
}

// Status returns the follower's current status.
func (f *Follower) Status() FollowStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status
}

// Run follows changes until ctx is done, reconnecting with backoff when
// the connection fails. It returns ctx's error, or ErrStoreChanged or
// ErrTooFarBehind (for good: it does not retry).
func (f *Follower) Run(ctx context.Context) error {
	backoff := 50 * time.Millisecond
	for {
		err := f.session(ctx)
		if ctx.Err() != nil {
			f.setConnected(false, ctx.Err())
			return ctx.Err()
		}
		if errors.Is(err, ErrStoreChanged) || errors.Is(err, ErrTooFarBehind) {
			f.setConnected(false, err)
			return err
		}
		if f.Status().Connected {
			backoff = 50 * time.Millisecond
		}
		f.setConnected(false, err)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, f.opts.MaxBackoff)
	}
}

func (f *Follower) setConnected(c bool, err error) {
	f.mu.Lock()
	changed := f.status.Connected != c
	f.status.Connected = c
	if c && changed {
		if f.wasConnected {
			f.status.Reconnects++
		}
		f.wasConnected = true
	}
	if !c {
		f.status.Mode = FollowPoll
	}
	if c {
		f.status.Err = nil
	} else if err != nil {
		f.status.Err = err
	}
	st := f.status
	f.mu.Unlock()
	if changed && f.opts.OnStatus != nil {
		f.opts.OnStatus(st)
	}
}

// setMode records the follow mode and tells OnStatus when it changed.
func (f *Follower) setMode(m string) {
	f.mu.Lock()
	changed := f.status.Mode != m
	f.status.Mode = m
	st := f.status
	f.mu.Unlock()
	if changed && f.opts.OnStatus != nil {
		f.opts.OnStatus(st)
	}
}

// session connects twice (one connection listens, the other reads),
// catches up and then reads what is new on each wake-up and each heartbeat,
// until a connection fails or ctx is done.
//
// Notifications are hints only: anyone who can connect may send any
// number of them, of any size, on ChangeChannel. The listening connection
// hands each to hint as it is read (nothing queues in pgx), a payload that
// is not a change number above the last one applied is ignored, and
// wake-ups are merged into one slot. Reading runs on the other connection,
// so a flood still being drained delays no heartbeat.
func (f *Follower) session(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wake := make(chan struct{}, 1)
	// The probe: a notification this session sends itself, at the start
	// and then on each heartbeat until it comes back (at most maxProbes
	// times), which proves that notifications reach the listening
	// connection. A pooler in transaction mode never delivers it.
	probe := "keydesk-probe-" + strconv.FormatInt(rand.Int64(), 36)
	heard := make(chan struct{}, 1)
	lcfg := f.lcfg.Copy()
	lcfg.OnNotification = func(_ *pgconn.PgConn, n *pgconn.Notification) {
		if n.Channel == ChangeChannel && n.Payload == probe {
			select {
			case heard <- struct{}{}:
			default:
			}
			return
		}
		f.hint(n, wake)
	}
	listener, err := pgx.ConnectConfig(ctx, lcfg)
	if err != nil {
		return connectError(err)
	}
	defer listener.Close(context.Background())
	conn, err := pgx.ConnectConfig(ctx, f.cfg.Copy())
	if err != nil {
		return connectError(err)
	}
	defer conn.Close(context.Background())
	if _, err := listener.Exec(ctx, "LISTEN "+ChangeChannel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if err := f.checkStore(ctx, conn); err != nil {
		return err
	}
	if err := f.catchUp(ctx, conn); err != nil {
		return err
	}
	f.setConnected(true, nil)
	sendProbe := func() error {
		if _, err := conn.Exec(ctx, `SELECT pg_notify($1, $2)`, ChangeChannel, probe); err != nil {
			return fmt.Errorf("notify: %w", err)
		}
		return nil
	}
	if err := sendProbe(); err != nil {
		return err
	}
	listening, probes := false, 1
	lost := make(chan error, 1)
	listenDone := make(chan struct{})
	go func() {
		defer close(listenDone)
		for {
			// Returns after each notification read (hint has seen it).
			if err := listener.PgConn().WaitForNotification(ctx); err != nil {
				lost <- err
				return
			}
		}
	}()
	defer func() {
		cancel()
		<-listenDone // before listener.Close
	}()
	beat := time.NewTicker(f.opts.Heartbeat)
	defer beat.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-lost:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("wait for changes: %w", err)
		case <-heard:
			listening = true
			f.setMode(FollowListen)
			continue
		case <-wake:
		case <-beat.C:
			if err := f.checkStore(ctx, conn); err != nil {
				return err
			}
			if !listening && probes < maxProbes {
				probes++
				if err := sendProbe(); err != nil {
					return err
				}
			}
		}
		if err := f.catchUp(ctx, conn); err != nil {
			return err
		}
	}
}

// maxProbes is how many probes a session sends before it settles on
// FollowPoll.
const maxProbes = 5

// maxHintLen is the longest notification payload read as a change number
// (an int64 in decimal).
const maxHintLen = 19

// hint wakes the follower for a notification that announces a change it
// has not applied: a payload of decimal digits only, above the last change
// number applied. Anything else is ignored; so is a wake-up while one is
// already pending.
func (f *Follower) hint(n *pgconn.Notification, wake chan<- struct{}) {
	p := n.Payload
	if n.Channel != ChangeChannel || len(p) == 0 || len(p) > maxHintLen {
		return
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return
		}
	}
	if seq, err := strconv.ParseInt(p, 10, 64); err != nil || seq <= f.Status().Seq {
		return
	}
	select {
	case wake <- struct{}{}:
	default:
	}
}

// checkStore fails with ErrStoreChanged unless the database still holds the
// followed store with at least the changes already applied (of those the
// change sequence issued: see issuedBound), and reports a change row the
// sequence did not issue to OnProblem, once per such number.
func (f *Follower) checkStore(ctx context.Context, conn *pgx.Conn) error {
	var id string
	var first, last, top, bound int64
	err := conn.QueryRow(ctx, `SELECT coalesce((SELECT value FROM store_meta WHERE name = 'store_id'), ''),
		coalesce((SELECT min(seq) FROM changes), 0), coalesce((SELECT max(seq) FROM changes WHERE seq <= `+issuedBound+`), 0),
		coalesce((SELECT max(seq) FROM changes), 0), `+issuedBound).Scan(&id, &first, &last, &top, &bound)
	if err != nil {
		return fmt.Errorf("read store identity: %w", err)
	}
	if f.storeID != "" && id != f.storeID {
		return fmt.Errorf("%w (it holds store %q)", ErrStoreChanged, id)
	}
	if top > bound && top != f.forged {
		f.forged = top
		if f.opts.OnProblem != nil {
			f.opts.OnProblem(fmt.Errorf("%w (change %d; the sequence is at %d)", ErrForgedChange, top, bound))
		}
	}
	seq := f.Status().Seq
	if last < seq {
		return fmt.Errorf("%w (its last change is %d, this server applied %d)", ErrStoreChanged, last, seq)
	}
	if first > seq+1 {
		return fmt.Errorf("%w (the oldest change kept is %d, this server applied %d)", ErrTooFarBehind, first, seq)
	}
	return nil
}

// catchUpBatch is how many changes one query reads.
const catchUpBatch = 1000

// catchUp applies every change after the last one applied, of those the
// change sequence issued (see issuedBound).
func (f *Follower) catchUp(ctx context.Context, conn *pgx.Conn) error {
	for {
		from := f.Status().Seq
		rows, err := conn.Query(ctx, `SELECT c.seq, c.at, c.kind, c.op, c.name, k.record, k.last_used_ns
			FROM changes c LEFT JOIN keys k ON c.kind = 'key' AND c.op <> 'delete' AND k.id = c.name
			WHERE c.seq > $1 AND c.seq <= `+issuedBound+` ORDER BY c.seq LIMIT $2`, from, catchUpBatch)
		if err != nil {
			return fmt.Errorf("read changes: %w", err)
		}
		var batch []Change
		var c Change
		var rec []byte
		var lastUsed *int64
		_, err = pgx.ForEachRow(rows, []any{&c.Seq, &c.Time, &c.Kind, &c.Op, &c.Name, &rec, &lastUsed}, func() error {
			ch := c
			ch.Time = ch.Time.UTC()
			if rec != nil {
				// An undecodable row reads as a deleted key (fail closed)
				// rather than stopping the follower.
				if k, err := decodeRow(rec, lastUsed); err == nil {
					ch.Key = k
				}
			}
			batch = append(batch, ch)
			return nil
		})
		if err != nil {
			return fmt.Errorf("read changes: %w", err)
		}
		for _, ch := range batch {
			f.mu.Lock()
			f.status.Seq = ch.Seq
			f.mu.Unlock()
			f.apply(ch)
		}
		if len(batch) < catchUpBatch {
			f.mu.Lock()
			f.status.LastSync = time.Now()
			f.mu.Unlock()
			return nil
		}
	}
}

// PruneChanges deletes the changes recorded before before, always keeping
// the latest one the change sequence issued (the followers' position; see
// issuedBound). A follower that had not yet
// applied a pruned change stops with ErrTooFarBehind and must reload.
func (s *Store) PruneChanges(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM changes WHERE at < $1 AND seq < (SELECT max(seq) FROM changes WHERE seq <= `+issuedBound+`)`, before)
	if err != nil {
		return 0, fmt.Errorf("prune changes: %w", err)
	}
	return tag.RowsAffected(), nil
}
