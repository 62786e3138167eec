// Package httpfetch is Keydesk's one bounded HTTP fetch, shared by the
// OpenAPI import (package apicatalog) and Send API Request (package
// apirequest): the URL rule (https://, or http:// to this computer only),
// a client with a timeout that follows redirects or not, and a body read up
// to a limit. Each caller keeps its own sentences for what it refuses.
package httpfetch

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/keydesk/keydesk/internal/netaddr"
)

// Errors of CheckURL; callers branch on them to say what they refuse.
var (
	// ErrNotAbsolute: the text is not a URL with a host.
	ErrNotAbsolute = errors.New("not an absolute URL")
	// ErrNotHTTPS: neither https:// nor http:// to a loopback host.
	ErrNotHTTPS = errors.New("not HTTPS")
)

// CheckURL parses s and allows https:// URLs, and http:// to this computer
// (a loopback host) only: anything else would cross the network in clear
// text.
func CheckURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return nil, ErrNotAbsolute
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && netaddr.IsLoopbackHost(u.Hostname()):
	default:
		return u, ErrNotHTTPS
	}
	return u, nil
}

// Client returns c, or when c is nil a client with verified TLS and the
// given timeout; with follow false, a copy of it that does not follow
// redirects (the 3xx answer comes back as the response).
func Client(c *http.Client, timeout time.Duration, follow bool) *http.Client {
	if c == nil {
		c = &http.Client{Timeout: timeout}
	}
	if follow {
		return c
	}
	nc := *c
	nc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &nc
}

// ReadLimited reads r up to limit bytes; truncated says r held more, which
// is dropped (at most one byte more is read to know it).
func ReadLimited(r io.Reader, limit int64) (data []byte, truncated bool, err error) {
	data, err = io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, false, err
	}
	if int64(len(data)) > limit {
		return data[:limit], true, nil
	}
	return data, false, nil
}
