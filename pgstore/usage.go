package pgstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/keydesk/keydesk/core"
)

var _ core.UsageStore = (*Store)(nil)

// MaxUsageRows bounds the rows one usage read takes from the database: a
// server role may write the table, so it may also fill it.
const MaxUsageRows = 1 << 20

// ErrTooManyUsageRows means a usage read met more than MaxUsageRows rows.
var ErrTooManyUsageRows = errors.New("the shared store holds more usage rows than Keydesk reads at once")

// toBigint caps a count at the column's range.
func toBigint(n uint64) int64 {
	if n > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(n)
}

// PutUsage upserts writer's absolute counts for each row's day and key and
// deletes every writer's rows of days before pruneBefore, in one
// transaction. It writes no change row and no audit entry.
func (s *Store) PutUsage(writer string, rows []core.UsageRow, pruneBefore time.Time) error {
	if err := core.CheckUsageWriter(writer); err != nil {
		return err
	}
	n := len(rows)
	days := make([]time.Time, 0, n)
	keys := make([]string, 0, n)
	counts := [5][]int64{}
	for i := range counts {
		counts[i] = make([]int64, 0, n)
	}
	for _, r := range rows {
		days = append(days, core.UsageDay(r.Day))
		keys = append(keys, r.KeyID)
		for i, c := range [5]uint64{r.Allowed, r.Denied, r.Expired, r.Unknown, r.Malformed} {
			counts[i] = append(counts[i], toBigint(c))
		}
	}
	err := s.write(func(ctx context.Context, tx pgx.Tx) error {
		if n > 0 {
			if _, err := tx.Exec(ctx, `INSERT INTO key_usage AS u (day, writer, key_id, allowed, denied, expired, unknown, malformed)
			SELECT d, $1, k, a, de, e, un, m
			FROM unnest($2::date[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[]) AS v(d, k, a, de, e, un, m)
			ON CONFLICT (day, writer, key_id) DO UPDATE SET allowed = EXCLUDED.allowed, denied = EXCLUDED.denied,
				expired = EXCLUDED.expired, unknown = EXCLUDED.unknown, malformed = EXCLUDED.malformed`,
				writer, days, keys, counts[0], counts[1], counts[2], counts[3], counts[4]); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM key_usage WHERE day < $1::date`, core.UsageDay(pruneBefore)); err != nil {
			return fmt.Errorf("prune: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save usage counts: %w", err)
	}
	return nil
}

// ReadUsage calls fn with the rows of days in [from, to], of the keys in
// keys unless it is nil. More than MaxUsageRows rows fail with
// ErrTooManyUsageRows.
func (s *Store) ReadUsage(from, to time.Time, keys []string, fn func(core.UsageRow) error) error {
	return s.query(func(ctx context.Context, db *pgxpool.Pool) error {
		rows, err := db.Query(ctx, `SELECT day, writer, key_id, allowed, denied, expired, unknown, malformed FROM key_usage
			WHERE day BETWEEN $1::date AND $2::date AND ($3::text[] IS NULL OR key_id = ANY($3::text[]))
			LIMIT $4`, core.UsageDay(from), core.UsageDay(to), keys, MaxUsageRows+1)
		if err != nil {
			return fmt.Errorf("read usage counts: %w", err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			if n++; n > MaxUsageRows {
				return ErrTooManyUsageRows
			}
			var r core.UsageRow
			var c [5]int64
			if err := rows.Scan(&r.Day, &r.Writer, &r.KeyID, &c[0], &c[1], &c[2], &c[3], &c[4]); err != nil {
				return fmt.Errorf("read usage counts: %w", err)
			}
			r.Day = core.UsageDay(r.Day)
			u := [5]uint64{}
			for i, x := range c {
				u[i] = uint64(max(x, 0))
			}
			r.Allowed, r.Denied, r.Expired, r.Unknown, r.Malformed = u[0], u[1], u[2], u[3], u[4]
			if err := fn(r); err != nil {
				return err
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read usage counts: %w", err)
		}
		return nil
	})
}
