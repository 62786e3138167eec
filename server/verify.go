package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/keydesk/keydesk/core"
)

// VerifyRequest is the body of POST /v1/keys/verify. Operation and Scope are
// optional and exclusive; with neither, only the key's validity is checked.
type VerifyRequest struct {
	Key       *string `json:"key"`
	Operation *string `json:"operation,omitempty"`
	Scope     *string `json:"scope,omitempty"`
}

// VerifyResponse is the answer of POST /v1/keys/verify.
type VerifyResponse struct {
	Valid   bool        `json:"valid"`
	Allowed bool        `json:"allowed"`
	Reason  core.Reason `json:"reason"`
	// Message explains Reason in one sentence.
	Message string `json:"message"`
	// Key is the matched record; null for malformed, bad_checksum and
	// unknown keys.
	Key *KeyInfo `json:"key"`
}

// KeyInfo is what the API tells about a matched key: never its secret,
// digest or MAC.
type KeyInfo struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Scopes    []string  `json:"scopes"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// ErrorResponse is the body of every 4xx answer.
type ErrorResponse struct {
	Error string `json:"error"`
}

// safeID matches operation ids and scopes that may be echoed in an error
// message (nothing that could be a key).
var safeID = regexp.MustCompile(`^[A-Za-z0-9.:*_-]{1,100}$`)

func quoteSafe(s string) string {
	if safeID.MatchString(s) && !keyLike.MatchString(s) {
		return fmt.Sprintf(" %q", s)
	}
	return ""
}

func (s *Server) verify(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength > MaxBodyBytes {
		s.fail(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("The request body is larger than %d KiB.", MaxBodyBytes>>10))
		return
	}
	in, status, msg := decodeVerifyRequest(w, r)
	if status != 0 {
		s.fail(w, r, status, msg)
		return
	}
	var target core.Target
	switch {
	case in.hasOperation && in.hasScope:
		s.fail(w, r, http.StatusBadRequest, `Give either "operation" or "scope", not both.`)
		return
	case in.hasOperation:
		op, ok := s.v.Catalog().Operation(in.operation)
		if !ok {
			s.fail(w, r, http.StatusBadRequest, fmt.Sprintf("Unknown operation%s; `keydesk catalog` lists the operation ids.", quoteSafe(in.operation)))
			return
		}
		target.Operation = op
	case in.hasScope:
		if in.scope == "" {
			s.fail(w, r, http.StatusBadRequest, `The "scope" is empty; leave it out to check only the key's validity.`)
			return
		}
		target.Scope = in.scope
	}
	v := s.use(in.key, target)
	s.count(endpointVerify, v.Reason)
	writeVerifyResponse(w, v)
}

// bodyPool recycles the buffers request bodies are read into.
var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// decodeVerifyRequest reads one JSON object with no unknown fields and a
// "key" string (parseVerifyFast for the common form, else encoding/json). A
// non-zero status is the answer to give, with msg.
func decodeVerifyRequest(w http.ResponseWriter, r *http.Request) (verifyInput, int, string) {
	buf := bodyPool.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= MaxBodyBytes+bytes.MinRead {
			bodyPool.Put(buf)
		}
	}()
	buf.Reset()
	// A body of declared length is read by net/http up to that length,
	// which verify checked against the limit; only a body of unknown
	// length (chunked) needs a reader that stops at the limit.
	body := r.Body
	if r.ContentLength < 0 {
		body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	}
	_, rerr := buf.ReadFrom(body)
	if in, ok := parseVerifyFast(buf.Bytes()); ok && rerr == nil {
		if !in.hasKey {
			return in, http.StatusBadRequest, msgNoKey
		}
		return in, 0, ""
	}
	// encoding/json reads what was read, then the error that ended the
	// read: a body over the limit that is invalid JSON before the limit
	// is answered as invalid, as a streaming decode would.
	var req VerifyRequest
	dec := json.NewDecoder(io.MultiReader(bytes.NewReader(buf.Bytes()), errReader{rerr}))
	dec.DisallowUnknownFields()
	err := dec.Decode(&req)
	if err == nil {
		// Exactly one JSON value: anything after it is an error.
		if _, terr := dec.Token(); !errors.Is(terr, io.EOF) {
			err = errTrailing
			if terr != nil {
				err = terr
			}
		}
	}
	var in verifyInput
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return in, http.StatusRequestEntityTooLarge, fmt.Sprintf("The request body is larger than %d KiB.", MaxBodyBytes>>10)
	case errors.Is(err, io.EOF):
		return in, http.StatusBadRequest, `The request body is empty; send {"key": "…", "operation": "…"} as JSON.`
	case err != nil:
		return in, http.StatusBadRequest, describeJSONError(err)
	case req.Key == nil:
		return in, http.StatusBadRequest, msgNoKey
	}
	in.key, in.hasKey = *req.Key, true
	if req.Operation != nil {
		in.operation, in.hasOperation = *req.Operation, true
	}
	if req.Scope != nil {
		in.scope, in.hasScope = *req.Scope, true
	}
	return in, 0, ""
}

const msgNoKey = `The request has no "key"; send {"key": "…", "operation": "…"} as JSON.`

// errReader returns err (io.EOF when nil): the end of a body read whole,
// or the error that cut it short.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) {
	if e.err == nil {
		return 0, io.EOF
	}
	return 0, e.err
}

var errTrailing = errors.New("trailing data")

// describeJSONError turns a decoding error into one sentence that never
// repeats the input (which may hold a key).
func describeJSONError(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, errTrailing):
		return "The request body must hold one JSON object and nothing after it."
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF):
		return "The request body is not valid JSON."
	case errors.As(err, &typ):
		if typ.Field != "" {
			return fmt.Sprintf("The field %q must be a string.", typ.Field)
		}
		return `The request body must be a JSON object such as {"key": "…", "operation": "…"}.`
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return `The request has a field other than "key", "operation" and "scope".`
	}
	return "The request body is not valid JSON."
}

// NewVerifyResponse is the API's answer for a verification; the command
// line's `keys verify --json` prints the same shape.
func NewVerifyResponse(v core.Verification) VerifyResponse {
	resp := VerifyResponse{Valid: v.Valid, Allowed: v.Allowed, Reason: v.Reason, Message: v.Reason.Explain()}
	if v.Key != nil {
		resp.Key = &KeyInfo{ID: v.Key.ID, Name: v.Key.Name, Scopes: v.Key.Scopes, ExpiresAt: v.Key.ExpiresAt.UTC()}
		if resp.Key.Scopes == nil {
			resp.Key.Scopes = []string{}
		}
	}
	return resp
}

// Header values shared by every JSON answer (net/http only reads them).
var (
	headerJSON    = []string{"application/json"}
	headerNoStore = []string{"no-store"}
	headerNoSniff = []string{"nosniff"}
)

// bufPool recycles the buffers answers are encoded into.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// writeJSON answers with a JSON body. Encoding cannot fail for the types
// this package writes; if it did, the answer is still JSON.
func writeJSON(w http.ResponseWriter, status int, body any) {
	buf := bufPool.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 64<<10 {
			buf.Reset()
			bufPool.Put(buf)
		}
	}()
	buf.Reset()
	if err := json.NewEncoder(buf).Encode(body); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":"Keydesk could not encode its answer."}` + "\n")
	}
	h := w.Header()
	h["Content-Type"] = headerJSON
	h["Cache-Control"] = headerNoStore
	h["X-Content-Type-Options"] = headerNoSniff
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, ErrorResponse{Error: msg})
}
