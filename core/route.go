package core

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// route is an operation's method and path template split into segments.
type route struct {
	op       *Operation
	segments []string // "" marks a {parameter}
	params   []string
	literals int
}

func newRoute(o *Operation) *route {
	r := &route{op: o}
	for _, seg := range splitPath(o.Path) {
		if len(seg) > 2 && seg[0] == '{' && seg[len(seg)-1] == '}' {
			r.segments = append(r.segments, "")
			r.params = append(r.params, seg[1:len(seg)-1])
			continue
		}
		r.segments = append(r.segments, seg)
		r.literals++
	}
	return r
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// MatchRoute finds the operation for an HTTP method and request URI (a path,
// optionally with a query string, as reverse proxies forward it). The method
// must be the operation's, in upper case as HTTP spells it ("get" is another
// method to an upstream), except that a HEAD request matches a GET
// operation. A single trailing slash is ignored, and
// when several templates match, the one with the most literal segments wins
// (/channels/direct before /channels/{channelId}). It returns the operation
// and the (unescaped) values of its path parameters.
//
// A path that an upstream service could read as another path never matches,
// whatever the catalog holds (see requestSegments): a key allowed one
// operation cannot reach another through path normalisation.
func (c *Catalog) MatchRoute(method, uri string) (*Operation, map[string]string, bool) {
	segs, ok := requestSegments(uri)
	if !ok {
		return nil, nil, false
	}
	var best *route
	c.routes.candidates(method, segs, false, func(r *route) {
		for i, s := range r.segments {
			if s != "" && s != segs[i] {
				return
			}
		}
		if best == nil || r.literals > best.literals {
			best = r
		}
	})
	if best == nil || c.shadowed(best, method, segs) {
		return nil, nil, false
	}
	params := make(map[string]string, len(best.params))
	k := 0
	for i, s := range best.segments {
		if s == "" {
			params[best.params[k]] = segs[i]
			k++
		}
	}
	return best.op, params, true
}

// shadowed reports whether a more specific operation than best would take
// the request at an upstream that ignores letter case (ASP.NET, Windows
// servers) or drops trailing dots (IIS): with a users.get key,
// "/v2/users/BOTS" or "/v2/users/bots." must not reach users.bots.list.
func (c *Catalog) shadowed(best *route, method string, segs []string) bool {
	found := false
	c.routes.candidates(method, segs, true, func(r *route) {
		if found || r == best || r.literals <= best.literals {
			return
		}
		for i, s := range r.segments {
			if s != "" && !looseEqual(s, segs[i]) {
				return
			}
		}
		found = true
	})
	return found
}

// routeIndex is a tree of the routes' path segments: a literal child per
// segment (keyed by its case-folded form, so that the loose match of
// shadowed walks it too) and one child for a {parameter}, with the routes
// ending at a node listed by method. A lookup walks the request's segments
// and costs the same with 20 routes or 2,000, whatever prefix they share.
type routeIndex struct {
	root *routeNode
}

type routeNode struct {
	lit   map[string]*routeNode
	param *routeNode
	leaf  map[string][]*route // method -> routes ending here
}

func (x *routeIndex) add(r *route) {
	if x.root == nil {
		x.root = &routeNode{}
	}
	n := x.root
	for _, seg := range r.segments {
		if seg == "" {
			if n.param == nil {
				n.param = &routeNode{}
			}
			n = n.param
			continue
		}
		k := foldKey(seg)
		if n.lit == nil {
			n.lit = make(map[string]*routeNode)
		}
		c := n.lit[k]
		if c == nil {
			c = &routeNode{}
			n.lit[k] = c
		}
		n = c
	}
	if n.leaf == nil {
		n.leaf = make(map[string][]*route)
	}
	n.leaf[r.op.Method] = append(n.leaf[r.op.Method], r)
}

// candidates calls fn with every route of the request's method (GET too
// for HEAD) whose template may match segs: literals equal up to case when
// loose is false; up to case, compatibility forms and trailing dots when
// it is true. fn still checks every segment.
func (x routeIndex) candidates(method string, segs []string, loose bool, fn func(*route)) {
	if x.root == nil {
		return
	}
	var buf [16]string
	keys := buf[:0]
	for _, seg := range segs {
		if loose {
			seg, _ = nfkc(seg)
			seg = strings.TrimRight(seg, ".")
		}
		keys = append(keys, foldKey(seg))
	}
	x.root.walk(method, keys, fn)
}

func (n *routeNode) walk(method string, keys []string, fn func(*route)) {
	if len(keys) == 0 {
		for _, r := range n.leaf[method] {
			fn(r)
		}
		if method == "HEAD" {
			for _, r := range n.leaf["GET"] {
				fn(r)
			}
		}
		return
	}
	if c := n.lit[keys[0]]; c != nil {
		c.walk(method, keys[1:], fn)
	}
	if n.param != nil {
		n.param.walk(method, keys[1:], fn)
	}
}

// foldKey maps s to one representative of its case-insensitive class, so
// that strings.EqualFold(a, b) implies foldKey(a) == foldKey(b): each rune
// becomes the lower case of the smallest rune of its Unicode simple case
// folding orbit. Lower-case ASCII, the usual case, is returned as it is.
func foldKey(s string) string {
	simple := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' {
			simple = false
			break
		}
	}
	if simple {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		min := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < min {
				min = f
			}
		}
		b.WriteRune(unicode.ToLower(min))
	}
	return b.String()
}

// looseEqual compares a template literal with a request segment as the
// laxest upstreams do: ignoring case and Unicode compatibility forms, after
// dropping trailing dots.
func looseEqual(lit, seg string) bool {
	seg, _ = nfkc(seg)
	return strings.EqualFold(lit, strings.TrimRight(seg, "."))
}

// requestSegments splits a request URI's path into unescaped segments. It
// refuses (false) every path that servers, frameworks and proxies do not all
// read the same way, so that the path Keydesk checks is the path the
// upstream serves:
//
//   - a path not starting with "/" (an absolute URL, "*"), a fragment ("#"
//     anywhere, raw or escaped), empty segments ("//", except one trailing
//     slash);
//   - ";" (Tomcat and Spring read "..;" as ".."), "?", a backslash,
//     whitespace, control or invisible formatting characters, raw or
//     percent-encoded;
//   - a malformed escape ("%zz"), an escape of "/" or "%" ("%2F", "%25":
//     decoded twice by some upstreams), escapes that decode to invalid UTF-8
//     (overlong "%C0%AE" is "." to some decoders);
//   - dot segments, raw or encoded ("..", "%2e%2E", or any segment made of
//     dots only);
//   - any of the above after Unicode compatibility folding (NFKC), which
//     turns "．．" (fullwidth) into ".." for upstreams that normalise.
//
// The query string is not part of the match and is not examined.
func requestSegments(uri string) ([]string, bool) {
	if strings.IndexByte(uri, '#') >= 0 {
		return nil, false
	}
	path, _, _ := strings.Cut(uri, "?")
	if !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "//") {
		return nil, false
	}
	path = strings.TrimSuffix(path[1:], "/")
	if path == "" {
		return nil, true // "/"
	}
	segs := strings.Split(path, "/")
	for i, raw := range segs {
		if raw == "" {
			return nil, false
		}
		seg, err := url.PathUnescape(raw)
		if err != nil || !safeSegment(seg) {
			return nil, false
		}
		if folded, changed := nfkc(seg); changed && !safeSegment(folded) {
			return nil, false
		}
		segs[i] = seg
	}
	return segs, true
}

// safeSegment reports whether an unescaped path segment means the same to
// every reader: valid UTF-8, not made of dots only, and free of separators
// ("/", "\", ";", "#", "?"), "%" and whitespace, control or invisible
// formatting characters.
func safeSegment(seg string) bool {
	if seg == "" || !utf8.ValidString(seg) || strings.Trim(seg, ".") == "" {
		return false
	}
	for _, r := range seg {
		switch {
		case r == '/', r == '\\', r == ';', r == '#', r == '?', r == '%':
			return false
		case unicode.IsSpace(r), unicode.IsControl(r), unicode.Is(unicode.Cf, r):
			return false
		}
	}
	return true
}

// nfkc returns s in Unicode compatibility form (NFKC) and whether that
// differs from s. ASCII, the usual case, is already in that form.
func nfkc(s string) (string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			if norm.NFKC.IsNormalString(s) {
				return s, false
			}
			return norm.NFKC.String(s), true
		}
	}
	return s, false
}

// FillPath returns the operation's path with its parameters replaced by the
// given values (escaped); missing values keep their {placeholder}.
func (o *Operation) FillPath(values map[string]string) string {
	segs := strings.Split(o.Path, "/")
	for i, seg := range segs {
		if len(seg) > 2 && seg[0] == '{' && seg[len(seg)-1] == '}' {
			if v := values[seg[1:len(seg)-1]]; v != "" {
				segs[i] = url.PathEscape(v)
			}
		}
	}
	return strings.Join(segs, "/")
}
