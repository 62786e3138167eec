package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
)

// referenceDecode is the verify request decoding with encoding/json alone
// (the contract parseVerifyFast must keep).
func referenceDecode(body []byte) (verifyInput, int) {
	var req VerifyRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(&req)
	if err == nil {
		if _, terr := dec.Token(); !errors.Is(terr, io.EOF) {
			err = errTrailing
		}
	}
	if err != nil || req.Key == nil {
		return verifyInput{}, http.StatusBadRequest
	}
	in := verifyInput{key: *req.Key, hasKey: true}
	if req.Operation != nil {
		in.operation, in.hasOperation = *req.Operation, true
	}
	if req.Scope != nil {
		in.scope, in.hasScope = *req.Scope, true
	}
	return in, 0
}

var decodeCorpus = []string{
	`{"key":"kdk_abc","operation":"messaging.channels.get"}`,
	` { "key" : "kdk_abc" , "scope" : "messaging:read" } ` + "\n",
	`{"key":"kdk_abc"}`,
	`{"operation":"x"}`,
	`{}`,
	`{"key":"a","key":"b"}`,
	`{"KEY":"kdk_abc"}`,
	`{"Key":"kdk_abc","Operation":"x"}`,
	`{"key":null}`,
	`{"key":"a","operation":null}`,
	`{"key":"a\u0041"}`,
	`{"key":"a\"b"}`,
	`{"key":"é"}`,
	"{\"key\":\"\xff\"}",
	`{"key":"a","other":1}`,
	`{"key":"a"} {}`,
	`{"key":"a"}x`,
	`{"key":1}`,
	`{"key":"a",}`,
	`{"key":"a"`,
	`["key"]`,
	``,
	`   `,
	`{"key":"a","operation":"b","scope":"c"}`,
	`{"key":"","scope":""}`,
	"{\"key\":\"a\tb\"}",
}

// TestFastDecodeMatchesEncodingJSON: for every body, the fast parser
// either declines or decides exactly as encoding/json, and the handler's
// decoding (fast path or not) gives encoding/json's answer.
func TestFastDecodeMatchesEncodingJSON(t *testing.T) {
	for _, body := range decodeCorpus {
		checkDecode(t, []byte(body))
	}
}

func FuzzFastDecode(f *testing.F) {
	for _, body := range decodeCorpus {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkDecode(t, body) })
}

func checkDecode(t *testing.T, body []byte) {
	t.Helper()
	want, wantStatus := referenceDecode(body)
	if fast, ok := parseVerifyFast(body); ok {
		if wantStatus != 0 && fast.hasKey || wantStatus == 0 && fast != want {
			t.Fatalf("parseVerifyFast(%q) = %+v, encoding/json gives %+v (status %d)", body, fast, want, wantStatus)
		}
	}
	r := httptest.NewRequest(http.MethodPost, PathVerify, bytes.NewReader(body))
	got, status, _ := decodeVerifyRequest(httptest.NewRecorder(), r)
	if status != wantStatus || status == 0 && got != want {
		t.Fatalf("decodeVerifyRequest(%q) = %+v, %d; encoding/json gives %+v, %d", body, got, status, want, wantStatus)
	}
}

// TestFastEncodeMatchesEncodingJSON: the hand-written answers are byte for
// byte what encoding/json's Encoder writes, including names that need
// escaping.
func TestFastEncodeMatchesEncodingJSON(t *testing.T) {
	exp := time.Date(2027, 1, 2, 3, 4, 5, 600, time.FixedZone("x", 3600))
	keys := []*core.Key{
		nil,
		{ID: "0123456789abcdef", Name: "plain", Scopes: []string{"messaging:read", "billing:*"}, ExpiresAt: exp},
		{ID: "01", Name: `<b>&"quoted"\ é 日本 ` + "\u2028\x01\x7f", Scopes: nil, ExpiresAt: exp.Truncate(time.Second)},
		{ID: "02", Name: "n", Scopes: []string{}, ExpiresAt: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, k := range keys {
		vs := []core.Verification{
			{Valid: true, Allowed: true, Reason: core.ReasonOK, Key: k},
			{Valid: true, Reason: core.ReasonForbidden, Key: k},
			{Reason: core.ReasonUnknown},
		}
		// Every reason (their members are encoded once, at start) and
		// one that is none of them.
		for _, r := range append(slices.Clone(Reasons), "<other>") {
			vs = append(vs, core.Verification{Reason: r, Key: k})
		}
		for _, v := range vs {
			var want bytes.Buffer
			if err := json.NewEncoder(&want).Encode(NewVerifyResponse(v)); err != nil {
				t.Fatal(err)
			}
			got, ok := appendVerifyResponse(nil, v)
			if !ok || string(got) != want.String() {
				t.Errorf("verify answer:\n got %s\nwant %s", got, want.String())
			}
		}
	}
	for _, r := range []AuthResponse{
		{Reason: ReasonMissingKey, Message: "The request has no Authorization: Bearer header with a key."},
		{Allowed: true, Reason: core.ReasonOK, Message: core.ReasonOK.Explain(), Operation: "messaging.channels.get", KeyID: "0123456789abcdef"},
		{Reason: ReasonNoRoute, Message: "<&>", KeyID: "x"},
	} {
		var want bytes.Buffer
		if err := json.NewEncoder(&want).Encode(r); err != nil {
			t.Fatal(err)
		}
		if got := appendAuthResponse(nil, r); string(got) != want.String() {
			t.Errorf("auth answer:\n got %s\nwant %s", got, want.String())
		}
	}
	// A year encoding/json refuses is not written by hand either.
	if _, ok := appendVerifyResponse(nil, core.Verification{Key: &core.Key{ExpiresAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}); ok {
		t.Error("year 10000 written")
	}
}
