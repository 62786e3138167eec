// Package apirequest sends a real request to an imported API with a key,
// as the guide's "Send API Request" does: Prepare builds it from the
// catalog's operation and the form's values (without the key), Curl shows
// it as a curl command with the key masked, and Send sends it with the key
// where the document's security scheme puts it. The window and `keydesk
// request` share it. Sending is not a use of the key in Keydesk's sense
// (the upstream's gateway records that).
package apirequest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/httpfetch"
)

// MaxResponse is how much of a response body is kept and shown (1 MiB);
// the rest is dropped and Response.Truncated set.
const MaxResponse = 1 << 20

// KeyPlaceholder stands for the key in Curl's output.
const KeyPlaceholder = "$KEYDESK_KEY"

// Errors of a request that cannot be prepared; callers branch on them.
var (
	ErrUnknownOperation = errors.New("no operation with this id in the catalog")
	ErrNotImported      = errors.New("the operation has no OpenAPI description to send it from (import the API's document with keydesk catalog import)")
	ErrMissingParam     = errors.New("a required parameter is missing")
	ErrUnknownParam     = errors.New("the operation has no such parameter")
	ErrBadServer        = errors.New("the server URL is not usable")
	ErrBadBody          = errors.New("the request body is not valid JSON")
	ErrNoKey            = errors.New("no key given")
)

// Input is what the request form (or the command line) fills in.
type Input struct {
	// Params are path and header parameter values by name.
	Params map[string]string
	// Query are query parameter values by name.
	Query map[string]string
	// Body is the JSON body; nil sends none.
	Body []byte
	// Server replaces the API's first server URL ("https://host/base").
	Server string
}

// Request is a prepared request, without the key.
type Request struct {
	Op     *core.Operation
	Method string
	// URL is the full URL, without the key.
	URL    *url.URL
	Header http.Header
	Body   []byte
	// Auth says where the key goes.
	Auth core.SecurityScheme
}

// ReadOnly reports whether the operation only reads; other requests are
// confirmed before they are sent.
func (r *Request) ReadOnly() bool { return r.Op.ReadOnly }

// Prepare builds the request for operation opID of cat from in. Every
// required path, query and header parameter must have a value (the form
// starts with the document's examples).
func Prepare(cat *core.Catalog, opID string, in Input) (*Request, error) {
	op, ok := cat.Operation(opID)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownOperation, opID)
	}
	spec := op.Request
	if spec == nil {
		return nil, fmt.Errorf("%s: %w", opID, ErrNotImported)
	}
	api, _ := cat.API(spec.API)
	server := strings.TrimSpace(in.Server)
	if server == "" && api != nil && len(api.Servers) > 0 {
		server = api.Servers[0]
	}
	base, err := checkServer(server)
	if err != nil {
		return nil, err
	}
	known := map[string]core.Param{}
	for _, p := range spec.Params {
		known[p.In+"\x00"+p.Name] = p
	}
	for name := range in.Params {
		if _, p := known["path\x00"+name]; !p {
			if _, h := known["header\x00"+name]; !h {
				return nil, fmt.Errorf("%w: %s has no path or header parameter %q", ErrUnknownParam, opID, name)
			}
		}
	}
	path, rawPath := spec.Template, spec.Template
	header := http.Header{}
	query := url.Values{}
	for _, p := range spec.Params {
		var v string
		var given bool
		switch p.In {
		case "query":
			v, given = in.Query[p.Name]
		default:
			v, given = in.Params[p.Name]
		}
		if !given || v == "" {
			if p.Required {
				return nil, fmt.Errorf("%w: %s needs the %s parameter %q", ErrMissingParam, opID, p.In, p.Name)
			}
			continue
		}
		switch p.In {
		case "path":
			path = strings.ReplaceAll(path, "{"+p.Name+"}", v)
			rawPath = strings.ReplaceAll(rawPath, "{"+p.Name+"}", url.PathEscape(v))
		case "query":
			query.Set(p.Name, v)
		case "header":
			header[p.Name] = []string{v} // the document's spelling
		}
	}
	// Query values the document does not list are sent too (APIs accept
	// more than they describe).
	for _, n := range slices.Sorted(maps.Keys(in.Query)) {
		if _, listed := known["query\x00"+n]; !listed && in.Query[n] != "" {
			query.Set(n, in.Query[n])
		}
	}
	u := *base
	u.Path = strings.TrimRight(base.Path, "/") + path
	u.RawPath = strings.TrimRight(base.EscapedPath(), "/") + rawPath
	u.RawQuery = query.Encode()
	r := &Request{Op: op, Method: op.Method, URL: &u, Header: header, Auth: authScheme(cat, spec)}
	if in.Body != nil {
		if !json.Valid(in.Body) {
			return nil, ErrBadBody
		}
		r.Body = in.Body
		ct := spec.BodyType
		if ct == "" {
			ct = "application/json"
		}
		header.Set("Content-Type", ct)
	}
	header.Set("Accept", "application/json, */*;q=0.5")
	return r, nil
}

// checkServer allows https:// servers, and http:// on this computer only
// (the key would cross the network in clear text otherwise).
func checkServer(s string) (*url.URL, error) {
	if s == "" {
		return nil, fmt.Errorf("%w: the document names no server; give one with --server", ErrBadServer)
	}
	u, err := httpfetch.CheckURL(s)
	switch {
	case errors.Is(err, httpfetch.ErrNotAbsolute):
		return nil, fmt.Errorf("%w: %q is not an absolute URL", ErrBadServer, s)
	case err != nil:
		return nil, fmt.Errorf("%w: %s is not HTTPS (http:// only to localhost), and the key must not cross the network in clear text", ErrBadServer, u.Redacted())
	}
	if u.User != nil {
		return nil, fmt.Errorf("%w: it must not hold a user name or password", ErrBadServer)
	}
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

// authScheme picks where the key goes: the first of the operation's
// schemes that takes a token (a bearer header or an API key), else
// Authorization: Bearer.
func authScheme(cat *core.Catalog, spec *core.RequestSpec) core.SecurityScheme {
	api, ok := cat.API(spec.API)
	if ok {
		for _, req := range spec.Security {
			s := api.Schemes[req.Scheme]
			switch {
			case s == nil:
			case s.Type == "apiKey" && s.Name != "" && (s.In == "header" || s.In == "query" || s.In == "cookie"):
				return *s
			case s.Type == "http" && s.Scheme == "bearer", s.Type == "oauth2", s.Type == "openIdConnect":
				return core.SecurityScheme{Type: "http", Scheme: "bearer"}
			}
		}
	}
	return core.SecurityScheme{Type: "http", Scheme: "bearer"}
}

// KeyLocation describes where the key goes, for the form: "header
// project_id", "query api_key", "Authorization: Bearer".
func (r *Request) KeyLocation() string {
	switch r.Auth.Type {
	case "apiKey":
		return r.Auth.In + " " + r.Auth.Name
	}
	return "Authorization: Bearer"
}

// withKey returns the URL and header with the key placed as r.Auth says.
func (r *Request) withKey(key string) (*url.URL, http.Header) {
	u := *r.URL
	h := r.Header.Clone()
	switch {
	case r.Auth.Type == "apiKey" && r.Auth.In == "header":
		h.Del(r.Auth.Name)
		h[r.Auth.Name] = []string{key} // the document's spelling
	case r.Auth.Type == "apiKey" && r.Auth.In == "query":
		q := u.Query()
		q.Set(r.Auth.Name, key)
		u.RawQuery = q.Encode()
	case r.Auth.Type == "apiKey" && r.Auth.In == "cookie":
		h.Add("Cookie", (&http.Cookie{Name: r.Auth.Name, Value: key}).String())
	default:
		h.Set("Authorization", "Bearer "+key)
	}
	return &u, h
}

// HeaderLines returns h as "Name: value" lines, sorted by name, a line a
// value: as the window and `keydesk request` show a response's header and
// as Curl passes a request's.
func HeaderLines(h http.Header) []string {
	var lines []string
	for _, n := range slices.Sorted(maps.Keys(h)) {
		for _, v := range h[n] {
			lines = append(lines, n+": "+v)
		}
	}
	return lines
}

// Curl returns the request as a curl command line with the key replaced by
// KeyPlaceholder: "Copy as curl" never holds the key.
func (r *Request) Curl() string {
	u, h := r.withKey(KeyPlaceholder)
	var b strings.Builder
	b.WriteString("curl")
	if r.Method != http.MethodGet {
		b.WriteString(" -X " + r.Method)
	}
	b.WriteString(" " + shellQuote(strings.ReplaceAll(u.String(), url.QueryEscape(KeyPlaceholder), KeyPlaceholder)))
	for _, l := range HeaderLines(h) {
		b.WriteString(" -H " + shellQuote(l))
	}
	if r.Body != nil {
		b.WriteString(" --data " + shellQuote(string(r.Body)))
	}
	return b.String()
}

// shellQuote quotes s for a POSIX shell, leaving $KEYDESK_KEY to expand.
func shellQuote(s string) string {
	parts := strings.Split(s, KeyPlaceholder)
	for i, p := range parts {
		parts[i] = "'" + strings.ReplaceAll(p, "'", `'\''`) + "'"
	}
	return strings.Join(parts, `"`+KeyPlaceholder+`"`)
}

// Response is what came back.
type Response struct {
	Status     int
	StatusText string // "200 OK"
	Duration   time.Duration
	Header     http.Header
	// Body is the response body, pretty-printed when it is JSON, at most
	// MaxResponse bytes; Truncated says the rest was dropped.
	Body        []byte
	JSON        bool
	Truncated   bool
	ContentType string
}

// Options tune Send.
type Options struct {
	// Client sends the request; nil means a client with verified TLS, a
	// two-minute timeout and no redirects followed.
	Client *http.Client
	// Now is the clock for the duration; nil means time.Now.
	Now func() time.Time
}

// ErrSend wraps a request that could not be sent or answered; its text
// never holds the key.
var ErrSend = errors.New("the request failed")

// Send sends r with key and reads the response (at most MaxResponse of its
// body). ctx cancels it. Redirects are not followed, so the key never goes
// to another server; the 3xx answer is returned.
func Send(ctx context.Context, r *Request, key string, opts Options) (*Response, error) {
	if strings.TrimSpace(key) == "" {
		return nil, ErrNoKey
	}
	c := httpfetch.Client(opts.Client, 2*time.Minute, false)
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	u, h := r.withKey(key)
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrSend, mask(err.Error(), key))
	}
	req.Header = h
	start := now()
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrSend, mask(err.Error(), key))
	}
	defer resp.Body.Close()
	data, truncated, err := httpfetch.ReadLimited(resp.Body, MaxResponse)
	elapsed := now().Sub(start)
	if err != nil {
		return nil, fmt.Errorf("%w: reading the answer: %s", ErrSend, mask(err.Error(), key))
	}
	out := &Response{Status: resp.StatusCode, StatusText: resp.Status, Duration: elapsed, Header: resp.Header,
		ContentType: resp.Header.Get("Content-Type"), Body: data, Truncated: truncated}
	if strings.Contains(out.ContentType, "json") && !out.Truncated {
		var pretty bytes.Buffer
		if json.Indent(&pretty, data, "", "  ") == nil {
			out.Body, out.JSON = pretty.Bytes(), true
		}
	}
	return out, nil
}

// mask removes the key, raw and URL-escaped, from a message.
func mask(s, key string) string {
	for _, k := range []string{key, url.QueryEscape(key), url.PathEscape(key)} {
		if k != "" {
			s = strings.ReplaceAll(s, k, "****")
		}
	}
	return s
}
