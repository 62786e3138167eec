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
// method and path are this request's own.
func (s *Server) auth(w http.ResponseWriter, r *http.Request, envoy bool) {
	targetOf := forwardedTarget
	if envoy {
		targetOf = envoyTarget
	}
	method, uri, msg := targetOf(r)
	if msg != "" {
		s.fail(w, r, http.StatusBadRequest, msg)
		return
	}
	h := w.Header()
	token, ok := bearerToken(r.Header.Get("Authorization"))
	if !ok {
		s.stats.missingKey.Add(1)
		h.Set("WWW-Authenticate", `Bearer realm="keydesk"`)
		h.Set(HeaderReason, string(ReasonMissingKey))
		writeAuthResponse(w, http.StatusUnauthorized, AuthResponse{Reason: ReasonMissingKey, Message: "The request has no Authorization: Bearer header with a key."})
		return
	}
	op, _, matched := s.v.Catalog().MatchRoute(method, uri)
	// An unmatched request still has its key checked, so that an invalid
	// key gets 401 rather than 403; nothing is allowed and no use recorded.
	target := core.Target{Unmatched: true}
	if matched {
		target = core.Target{Operation: op}
	}
	v := s.use(token, target)
	resp := AuthResponse{Allowed: v.Allowed, Reason: v.Reason, Message: v.Reason.Explain()}
	if matched {
		resp.Operation = op.ID
	}
	var status int
	switch {
	case !v.Valid:
		s.count(endpointAuth, v.Reason)
		status = http.StatusUnauthorized
		h.Set("WWW-Authenticate", `Bearer realm="keydesk", error="invalid_token", error_description="`+v.Reason.Explain()+`"`)
	case !matched:
		s.countNoRoute()
		status = http.StatusForbidden
		resp.Reason = ReasonNoRoute
		resp.Message = "No operation in the catalog has this method and path, so no key may call it."
	case !v.Allowed:
		s.count(endpointAuth, v.Reason)
		status = http.StatusForbidden
		h.Set("WWW-Authenticate", `Bearer realm="keydesk", error="insufficient_scope"`)
	default:
		s.count(endpointAuth, v.Reason)
		status = http.StatusOK
		h.Set(HeaderKeyID, v.Key.ID)
		h.Set(HeaderOperation, op.ID)
	}
	if v.Valid && v.Key != nil {
		resp.KeyID = v.Key.ID
	}
	h.Set(HeaderReason, string(resp.Reason))
	writeAuthResponse(w, status, resp)
}

// The two sets of headers gateways use to tell /v1/auth the original
// request: Traefik and Caddy send X-Forwarded-*, nginx is configured to send
// X-Original-*.
var (
	traefikHeaders = [2]string{"X-Forwarded-Method", "X-Forwarded-Uri"}
	nginxHeaders   = [2]string{"X-Original-Method", "X-Original-Uri"}
)

// Answers to a request whose forwarded headers cannot be trusted.
const (
	msgNoTarget       = "The gateway must send the original method and URI: X-Forwarded-Method and X-Forwarded-Uri (Traefik, Caddy) or X-Original-Method and X-Original-URI (nginx)."
	msgPartialTarget  = "The gateway must send X-Forwarded-Method with X-Forwarded-Uri, or X-Original-Method with X-Original-URI, each once and not empty."
	msgConflictTarget = "The X-Forwarded-* and X-Original-* headers name different requests, so the gateway must remove the set it does not send (see the README)."
	msgEnvoyTarget    = "The original path must follow /v1/auth in the request line."
)

// forwardedTarget returns the original request's method and URI as a
// gateway forwards them, or a message for a 400 answer. A gateway passes the
// client's own headers along with the ones it sets, so a client can add
// either set: each set is taken whole or not at all (a set with one header
// missing, empty or repeated is refused), and when both sets are present
// they must name the same request, or the request is refused.
func forwardedTarget(r *http.Request) (method, uri, msg string) {
	tm, tu, traefik, tok := headerSet(r.Header, traefikHeaders)
	nm, nu, nginx, nok := headerSet(r.Header, nginxHeaders)
	switch {
	case !traefik && !nginx:
		return "", "", msgNoTarget
	case traefik && !tok, nginx && !nok:
		return "", "", msgPartialTarget
	case traefik && nginx && (tm != nm || tu != nu):
		return "", "", msgConflictTarget
	case traefik:
		return tm, tu, ""
	}
	return nm, nu, ""
}

// headerSet reads one set of forwarded headers: present is whether any of
// them is in h, complete whether both are, each exactly once and not empty.
func headerSet(h http.Header, names [2]string) (method, uri string, present, complete bool) {
	mv, hasMethod := h[names[0]]
	uv, hasURI := h[names[1]]
	if !hasMethod && !hasURI {
		return "", "", false, false
	}
	if len(mv) != 1 || len(uv) != 1 {
		return "", "", true, false
	}
	// No trimming: the HTTP parser has removed the spaces around a value,
	// and the matcher refuses what is left.
	method, uri = mv[0], uv[0]
	return method, uri, true, method != "" && uri != ""
}

// envoyTarget returns the method and URI of /v1/auth/<path> requests (Envoy
// ext_authz over HTTP): the request's own method, and its request line with
// the /v1/auth prefix removed, exactly as received. Forwarded headers are
// ignored there: they would be the client's own.
func envoyTarget(r *http.Request) (method, uri, msg string) {
	uri, ok := strings.CutPrefix(r.RequestURI, PathAuth)
	if !ok || !strings.HasPrefix(uri, "/") {
		return "", "", msgEnvoyTarget
	}
	return r.Method, uri, ""
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
