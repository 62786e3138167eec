package server

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/keydesk/keydesk/core"
)

// The verification endpoints answer thousands of requests a second, and
// encoding/json's reflection was a third of their cost. The common shapes
// are parsed and written here by hand; anything else (escapes, non-ASCII,
// null, repeated or unknown fields) goes through encoding/json, so the
// contract is encoding/json's: the tests compare the two byte for byte.

// verifyInput is a parsed verify request; has* tell which fields were
// given.
type verifyInput struct {
	key, operation, scope          string
	hasKey, hasOperation, hasScope bool
}

// parseVerifyFast parses the common form of a verify request: one object
// whose members are "key", "operation" and "scope", each at most once,
// each a string of printable ASCII without escapes, with JSON whitespace
// around the tokens and nothing after the object. ok is false for
// anything else, which encoding/json must then decide.
func parseVerifyFast(b []byte) (in verifyInput, ok bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return in, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return in, skipSpace(b, i+1) == len(b)
	}
	for {
		name, j, ok := fastString(b, i)
		if !ok {
			return in, false
		}
		i = skipSpace(b, j)
		if i >= len(b) || b[i] != ':' {
			return in, false
		}
		val, j, ok := fastString(b, skipSpace(b, i+1))
		if !ok {
			return in, false
		}
		var field *string
		var seen *bool
		switch string(name) {
		case "key":
			field, seen = &in.key, &in.hasKey
		case "operation":
			field, seen = &in.operation, &in.hasOperation
		case "scope":
			field, seen = &in.scope, &in.hasScope
		default:
			return in, false
		}
		if *seen {
			return in, false
		}
		*field, *seen = string(val), true
		i = skipSpace(b, j)
		if i >= len(b) {
			return in, false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return in, skipSpace(b, i+1) == len(b)
		default:
			return in, false
		}
	}
}

// fastString reads a JSON string at b[i] made only of printable ASCII
// without escapes; it returns its contents and the index after it.
func fastString(b []byte, i int) (s []byte, next int, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j], j + 1, true
		case c < 0x20 || c == '\\' || c >= 0x7f:
			return nil, 0, false
		}
	}
	return nil, 0, false
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// plainJSON tells the bytes encoding/json writes as they are inside a
// string (HTML-safe): printable ASCII but for ", \\, <, > and &.
var plainJSON = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendString appends s as encoding/json writes it (HTML-safe).
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if !plainJSON[s[i]] {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// reasonJSON holds, for each reason of Reasons, the reason and message
// members of a verify answer as appendVerifyResponse writes them: the same
// bytes for every answer with that reason, so they are encoded once.
var reasonJSON = func() []struct {
	r    core.Reason
	json string
} {
	t := make([]struct {
		r    core.Reason
		json string
	}, len(Reasons))
	for i, r := range Reasons {
		t[i].r, t[i].json = r, string(appendReasonSlow(nil, r))
	}
	return t
}()

// appendReason appends the reason and message members for r.
func appendReason(b []byte, r core.Reason) []byte {
	for _, e := range reasonJSON {
		if e.r == r {
			return append(b, e.json...)
		}
	}
	return appendReasonSlow(b, r)
}

func appendReasonSlow(b []byte, r core.Reason) []byte {
	b = append(b, `,"reason":`...)
	b = appendString(b, string(r))
	b = append(b, `,"message":`...)
	return appendString(b, r.Explain())
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, "true"...)
	}
	return append(b, "false"...)
}

// appendVerifyResponse appends NewVerifyResponse(v) as encoding/json's
// Encoder writes it, newline included; ok is false when a time cannot be
// written as RFC 3339 (encoding/json then fails).
func appendVerifyResponse(b []byte, v core.Verification) ([]byte, bool) {
	b = append(b, `{"valid":`...)
	b = appendBool(b, v.Valid)
	b = append(b, `,"allowed":`...)
	b = appendBool(b, v.Allowed)
	b = appendReason(b, v.Reason)
	b = append(b, `,"key":`...)
	if v.Key == nil {
		b = append(b, "null"...)
	} else {
		exp := v.Key.ExpiresAt.UTC()
		if y := exp.Year(); y < 0 || y > 9999 {
			return b, false
		}
		b = append(b, `{"id":`...)
		b = appendString(b, v.Key.ID)
		b = append(b, `,"name":`...)
		b = appendString(b, v.Key.Name)
		b = append(b, `,"scopes":[`...)
		for i, sc := range v.Key.Scopes {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, sc)
		}
		b = append(b, `],"expiresAt":"`...)
		b = exp.AppendFormat(b, time.RFC3339Nano)
		b = append(b, `"}`...)
	}
	return append(b, "}\n"...), true
}

// appendAuthResponse appends r as encoding/json's Encoder writes it.
func appendAuthResponse(b []byte, r AuthResponse) []byte {
	b = append(b, `{"allowed":`...)
	b = appendBool(b, r.Allowed)
	b = append(b, `,"reason":`...)
	b = appendString(b, string(r.Reason))
	b = append(b, `,"message":`...)
	b = appendString(b, r.Message)
	if r.Operation != "" {
		b = append(b, `,"operation":`...)
		b = appendString(b, r.Operation)
	}
	if r.KeyID != "" {
		b = append(b, `,"keyId":`...)
		b = appendString(b, r.KeyID)
	}
	return append(b, "}\n"...)
}

// answerPool recycles the buffers answers are written into.
var answerPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// putAnswer returns a buffer to answerPool unless it grew large.
func putAnswer(bp *[]byte) {
	if cap(*bp) <= 64<<10 {
		answerPool.Put(bp)
	}
}

// writeVerifyResponse answers with NewVerifyResponse(v).
func writeVerifyResponse(w http.ResponseWriter, v core.Verification) {
	bp := answerPool.Get().(*[]byte)
	defer putAnswer(bp)
	b, ok := appendVerifyResponse((*bp)[:0], v)
	*bp = b[:0]
	if !ok {
		writeJSON(w, http.StatusOK, NewVerifyResponse(v))
		return
	}
	writeBody(w, http.StatusOK, b)
}

// writeAuthResponse answers with r.
func writeAuthResponse(w http.ResponseWriter, status int, r AuthResponse) {
	bp := answerPool.Get().(*[]byte)
	defer putAnswer(bp)
	b := appendAuthResponse((*bp)[:0], r)
	*bp = b[:0]
	writeBody(w, status, b)
}

// writeBody answers with a JSON body.
func writeBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = headerJSON
	h["Cache-Control"] = headerNoStore
	h["X-Content-Type-Options"] = headerNoSniff
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
