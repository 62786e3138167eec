package pgstore

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
)

// keywordPassword matches a password setting in a keyword/value connection
// string ("host=db user=k password=…").
var keywordPassword = regexp.MustCompile(`(^|\s)password\s*=`)

// CheckURL reports whether raw is a connection string this package can
// open, without connecting: ErrBadURL when it does not parse. hasPassword
// says whether raw itself holds a password (in the URL's user part, its
// password parameter, or a keyword/value password setting), which the
// command line warns about: every local user sees a process's arguments.
func CheckURL(raw string) (hasPassword bool, err error) {
	if _, err := pgxpool.ParseConfig(raw); err != nil {
		// pgx's message may quote the URL, password included.
		return false, ErrBadURL
	}
	if strings.HasPrefix(raw, "postgres://") || strings.HasPrefix(raw, "postgresql://") {
		u, err := url.Parse(raw)
		if err != nil {
			return false, ErrBadURL
		}
		if u.User != nil {
			if _, ok := u.User.Password(); ok {
				return true, nil
			}
		}
		return u.Query().Has("password"), nil
	}
	return keywordPassword.MatchString(raw), nil
}
