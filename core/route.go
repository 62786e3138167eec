package core

import (
	"net/url"
	"strings"
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
// optionally with a query string, as reverse proxies forward it). Trailing
// slashes are ignored, a HEAD request matches a GET operation, and when
// several templates match, the one with the most literal segments wins
// (/channels/direct before /channels/{channelId}). It returns the operation
// and the values of its path parameters.
func (c *Catalog) MatchRoute(method, uri string) (*Operation, map[string]string, bool) {
	path := uri
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	method = strings.ToUpper(method)
	segs := splitPath(path)
	for i, seg := range segs {
		if u, err := url.PathUnescape(seg); err == nil {
			segs[i] = u
		}
	}
	var best *route
	for _, r := range c.routes {
		if r.op.Method != method && !(method == "HEAD" && r.op.Method == "GET") {
			continue
		}
		if len(r.segments) != len(segs) {
			continue
		}
		ok := true
		for i, s := range r.segments {
			if s != "" && s != segs[i] || s == "" && segs[i] == "" {
				ok = false
				break
			}
		}
		if ok && (best == nil || r.literals > best.literals) {
			best = r
		}
	}
	if best == nil {
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
