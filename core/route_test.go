package core

import (
	"fmt"
	"maps"
	"path"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// ambiguousURIs are request URIs that an upstream could read as a path other
// than the one they seem to name. Each would reach users.get (GET
// /v2/users/{userId}) or another operation if the matcher took it; none may
// match.
var ambiguousURIs = []struct{ name, uri string }{
	// The forms found in the security review, with a users.get key.
	{"dot-dot and semicolon (Tomcat, Spring)", "/v2/users/..;"},
	{"fragment holding dot segments", "/v2/users/42#/../../company"},
	{"overlong UTF-8 dots", "/v2/users/%C0%AE%C0%AE"},
	{"dot-dot and encoded tab", "/v2/users/..%09"},
	{"encoded space and dot-dot", "/v2/users/%20.."},

	{"semicolon, raw", "/v2/users/42;jsessionid=x"},
	{"semicolon, encoded", "/v2/users/42%3Bx"},
	{"dot-dot and encoded semicolon", "/v2/users/..%3b"},
	{"fragment, raw", "/v2/users/42#"},
	{"fragment, encoded", "/v2/users/42%23x"},
	{"fragment in the query", "/v2/users/42?x=#/../bots"},
	{"question mark, encoded", "/v2/users/42%3F/../bots"},
	{"space, raw", "/v2/users/4 2"},
	{"space, encoded", "/v2/users/42%20"},
	{"tab, raw", "/v2/users/42\t"},
	{"line feed, encoded", "/v2/users/42%0A"},
	{"carriage return, encoded", "/v2/users/42%0d"},
	{"no-break space", "/v2/users/%C2%A0"},
	{"ideographic space", "/v2/users/%E3%80%80"},
	{"line separator", "/v2/users/42%E2%80%A8"},
	{"NUL, raw", "/v2/users/42\x00"},
	{"NUL, encoded", "/v2/users/42%00"},
	{"DEL, encoded", "/v2/users/%7F"},
	{"DEL, raw", "/v2/users/\x7f"},
	{"next line (C1)", "/v2/users/42%C2%85"},
	{"zero-width space", "/v2/users/42%E2%80%8B"},
	{"right-to-left override", "/v2/users/%E2%80%AE24"},
	{"invalid UTF-8, encoded", "/v2/users/%FF"},
	{"truncated UTF-8, encoded", "/v2/users/%E2%80"},
	{"invalid UTF-8, raw", "/v2/users/\xff"},
	{"dot-dot", "/v2/users/.."},
	{"dot", "/v2/users/."},
	{"dot-dot, encoded", "/v2/users/%2e%2e"},
	{"dot-dot, half encoded", "/v2/users/%2E."},
	{"three dots", "/v2/users/..."},
	{"dot-dot inside", "/v2/users/42/../bots"},
	{"dot inside", "/v2/./users/42"},
	{"fullwidth dot-dot", "/v2/users/%EF%BC%8E%EF%BC%8E"},
	{"one dot leaders", "/v2/users/%E2%80%A4%E2%80%A4"},
	{"encoded slash", "/v2/users/a%2Fb"},
	{"encoded slash, lower case", "/v2/users/a%2fb"},
	{"encoded backslash", "/v2/users/a%5Cb"},
	{"backslash, raw", `/v2/users/a\b`},
	{"backslash dot-dot", `/v2/users/42\..\bots`},
	{"fullwidth solidus", "/v2/users/a%EF%BC%8Fb"},
	{"fullwidth reverse solidus", "/v2/users/a%EF%BC%BCb"},
	{"double-encoded dot-dot", "/v2/users/%252e%252e"},
	{"encoded percent", "/v2/users/%25"},
	{"malformed escape", "/v2/users/%zz"},
	{"short escape", "/v2/users/%4"},
	{"trailing percent", "/v2/users/42%"},
	{"leading double slash", "//v2/users/42"},
	{"inner double slash", "/v2//users/42"},
	{"two trailing slashes", "/v2/users/42//"},
	{"no leading slash", "v2/users/42"},
	{"absolute URL", "http://example.com/v2/users/42"},
	{"asterisk", "*"},
	{"empty", ""},
	// A parameter that a case-insensitive or dot-trimming upstream reads as
	// the literal of a more specific operation (users.bots.list).
	{"literal in upper case", "/v2/users/BOTS"},
	{"literal with a trailing dot", "/v2/users/bots."},
	{"literal in mixed case with dots", "/v2/users/Bots.."},
	{"literal in fullwidth letters", "/v2/users/%EF%BD%82ots"},
	{"literal with a long s", "/v2/users/bot%C5%BF"},
}

func TestMatchRouteRefusesAmbiguousPaths(t *testing.T) {
	c := DefaultCatalog()
	for _, tc := range ambiguousURIs {
		t.Run(tc.name, func(t *testing.T) {
			for _, method := range []string{"GET", "HEAD"} {
				if op, params, ok := c.MatchRoute(method, tc.uri); ok {
					t.Fatalf("MatchRoute(%s %q) = %s %v, want no match", method, tc.uri, op.ID, params)
				}
			}
			if !strings.HasPrefix(tc.name, "literal") && !ambiguousURI(tc.uri) {
				t.Fatalf("the test's own checker finds %q unambiguous", tc.uri)
			}
		})
	}
}

// ambiguousURI is the fuzz target's oracle, written apart from the matcher:
// it reports whether a URI has any of the properties no matched URI may
// have. It does not know about templates, so it cannot judge shadowing.
func ambiguousURI(uri string) bool {
	if strings.Contains(uri, "#") {
		return true
	}
	p, _, _ := strings.Cut(uri, "?")
	if !strings.HasPrefix(p, "/") {
		return true
	}
	rest := strings.TrimSuffix(p[1:], "/")
	if rest == "" {
		return false
	}
	for _, raw := range strings.Split(rest, "/") {
		var seg []byte
		for i := 0; i < len(raw); i++ {
			b := raw[i]
			if b <= ' ' || b == 0x7f || b == ';' || b == '\\' {
				return true
			}
			if b != '%' {
				seg = append(seg, b)
				continue
			}
			if i+2 >= len(raw) {
				return true
			}
			v, err := strconv.ParseUint(raw[i+1:i+3], 16, 8)
			if err != nil {
				return true
			}
			seg = append(seg, byte(v))
			i += 2
		}
		if len(seg) == 0 || !utf8.Valid(seg) {
			return true // an empty segment ("//") or bytes no decoder agrees on
		}
		for _, form := range []string{string(seg), norm.NFKC.String(string(seg))} {
			if strings.Trim(form, ".") == "" || path.Clean("/"+form) != "/"+form {
				return true // a dot segment, or separators inside
			}
			for _, r := range form {
				if unicode.IsSpace(r) || unicode.IsControl(r) || unicode.In(r, unicode.Cf) || strings.ContainsRune(`/\\;#?%`, r) {
					return true
				}
			}
		}
	}
	return false
}

// FuzzMatchRoute checks that no URI the matcher accepts is ambiguous (see
// ambiguousURI), and that a match is stable: the operation's path filled
// with the matched parameters matches the same operation with the same
// parameters. Run longer with
// go test -run '^$' -fuzz FuzzMatchRoute -fuzztime 60s ./core/
func FuzzMatchRoute(f *testing.F) {
	c := DefaultCatalog()
	for _, tc := range ambiguousURIs {
		f.Add("GET", tc.uri)
	}
	for _, uri := range []string{
		"/v2/users/42", "/v2/users/42/", "/v2/users/bots", "/v2/users/caf%C3%A9",
		"/v2/conversations/channels/C1/members?x=%2F..", "/v2/company/pbxs/%41%42",
	} {
		f.Add("GET", uri)
		f.Add("DELETE", uri)
	}
	f.Fuzz(func(t *testing.T, method, uri string) {
		op, params, ok := c.MatchRoute(method, uri)
		if !ok {
			return
		}
		if ambiguousURI(uri) {
			t.Fatalf("MatchRoute(%q, %q) = %s %v for an ambiguous URI", method, uri, op.ID, params)
		}
		filled := op.FillPath(params)
		op2, params2, ok := c.MatchRoute(method, filled)
		if !ok || op2 != op || !maps.Equal(params, params2) {
			t.Fatalf("MatchRoute(%q, %q) = %s %v, but its filled path %q matches %v %v", method, uri, op.ID, params, filled, op2, params2)
		}
		if strings.Contains(filled, "{") {
			t.Fatalf("%s matched %q without a value for every parameter: %s", op.ID, uri, fmt.Sprint(params))
		}
	})
}

// BenchmarkMatchRoute matches a typical gateway request: a two-parameter
// template with a query string, as /v1/auth sees it on every request.
func BenchmarkMatchRoute(b *testing.B) {
	c := DefaultCatalog()
	for b.Loop() {
		if _, _, ok := c.MatchRoute("DELETE", "/v2/conversations/channels/C0123/members/U42?notify=false"); !ok {
			b.Fatal("no match")
		}
	}
}
