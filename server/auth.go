package server

import (
	"net/http"
	"strings"

	"github.com/keydesk/keydesk/core"
)

// Reasons /v1/auth reports besides the core verification reasons.
const (
	// ReasonMissingKey: the request has no Authorization: Bearer header.
	ReasonMissingKey core.Reason = "missing_key"
	// ReasonNoRoute: no catalog operation has the request's method and
	// path, so no key may make it.
	ReasonNoRoute core.Reason = "no_route"
)

// Headers of /v1/auth answers. A gateway can copy them to the upstream
// (nginx: auth_request_set; Traefik: authResponseHeaders).
const (
	HeaderKeyID     = "X-Keydesk-Key-Id"
	HeaderOperation = "X-Keydesk-Operation"
	HeaderReason    = "X-Keydesk-Reason"
)

// AuthResponse is the small JSON body of /v1/auth answers (gateways only
// look at the status; it helps people reading a refusal).
type AuthResponse struct {
	Allowed   bool        `json:"allowed"`
	Reason    core.Reason `json:"reason"`
	Message   string      `json:"message"`
	Operation string      `json:"operation,omitempty"`
	KeyID     string      `json:"keyId,omitempty"`
}

// auth answers a reverse proxy's question "may the bearer of this key make
// this request?". envoy is set for /v1/auth/<path>, where the original
// method and path are the request's own unless forwarded headers say more.
func (s *Server) auth(w http.ResponseWriter, r *http.Request, envoy bool) {
	method, uri := forwardedTarget(r)
	if envoy {
		if method == "" {
			method = r.Method
		}
		if uri == "" {
			uri = strings.TrimPrefix(r.URL.EscapedPath(), PathAuth)
			if r.URL.RawQuery != "" {
				uri += "?" + r.URL.RawQuery
			}
		}
	}
	if method == "" || uri == "" {
		s.fail(w, r, http.StatusBadRequest, "The proxy must send the original request's method and URI: X-Forwarded-Method and X-Forwarded-Uri (Traefik) or X-Original-Method and X-Original-URI (nginx).")
		return
	}
	h := w.Header()
	token, ok := bearerToken(r.Header.Get("Authorization"))
	if !ok {
		s.stats.missingKey.Add(1)
		h.Set("WWW-Authenticate", `Bearer realm="keydesk"`)
		h.Set(HeaderReason, string(ReasonMissingKey))
		writeJSON(w, http.StatusUnauthorized, AuthResponse{Reason: ReasonMissingKey, Message: "The request has no Authorization: Bearer header with a key."})
		return
	}
	op, _, matched := s.v.Catalog().MatchRoute(method, uri)
	if matched && ambiguousPath(uri) {
		matched = false
	}
	// An unmatched request still has its key checked, so that an invalid
	// key gets 401 rather than 403; nothing is allowed and no use recorded.
	target := core.Target{Unmatched: true}
	if matched {
		target = core.Target{Operation: op}
	}
	v := s.v.Verify(token, target)
	resp := AuthResponse{Allowed: v.Allowed, Reason: v.Reason, Message: v.Reason.Explain()}
	if matched {
		resp.Operation = op.ID
	}
	var status int
	switch {
	case !v.Valid:
		s.stats.count(v.Reason)
		status = http.StatusUnauthorized
		h.Set("WWW-Authenticate", `Bearer realm="keydesk", error="invalid_token", error_description="`+v.Reason.Explain()+`"`)
	case !matched:
		s.stats.noRoute.Add(1)
		status = http.StatusForbidden
		resp.Reason = ReasonNoRoute
		resp.Message = "No operation in the catalog has this method and path, so no key may call it."
	case !v.Allowed:
		s.stats.count(v.Reason)
		status = http.StatusForbidden
		h.Set("WWW-Authenticate", `Bearer realm="keydesk", error="insufficient_scope"`)
	default:
		s.stats.count(v.Reason)
		status = http.StatusOK
		h.Set(HeaderKeyID, v.Key.ID)
		h.Set(HeaderOperation, op.ID)
	}
	if v.Valid && v.Key != nil {
		resp.KeyID = v.Key.ID
	}
	h.Set(HeaderReason, string(resp.Reason))
	writeJSON(w, status, resp)
}

// forwardedTarget returns the original request's method and URI as a proxy
// forwards them: X-Forwarded-Method/-Uri (Traefik, Caddy) first, then
// X-Original-Method/-URI (nginx auth_request, by convention).
func forwardedTarget(r *http.Request) (method, uri string) {
	method = firstNonEmpty(r.Header.Get("X-Forwarded-Method"), r.Header.Get("X-Original-Method"))
	uri = firstNonEmpty(r.Header.Get("X-Forwarded-Uri"), r.Header.Get("X-Original-Uri"))
	return strings.TrimSpace(method), strings.TrimSpace(uri)
}

func firstNonEmpty(a, b string) string {
	if strings.TrimSpace(a) != "" {
		return a
	}
	return b
}

// bearerToken reads "Bearer <key>" (the scheme in any case).
func bearerToken(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// ambiguousPath reports whether a URI's path could mean different things to
// Keydesk and to the upstream: dot segments ("/a/../b"), encoded slashes,
// backslashes or dots. Such requests match no operation (403), so a key for
// one operation cannot reach another through path normalisation.
func ambiguousPath(uri string) bool {
	path := uri
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	lower := strings.ToLower(path)
	if strings.Contains(lower, "%2f") || strings.Contains(lower, "%5c") || strings.Contains(lower, "%2e") || strings.Contains(path, `\`) || strings.Contains(lower, "%25") {
		return true
	}
	for _, seg := range strings.Split(path, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}
