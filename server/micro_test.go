package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func BenchmarkHandlerMicro(b *testing.B) {
	f := newFixture(b)
	body, _ := json.Marshal(map[string]string{"key": f.keys["reader"].Secret, "operation": "messaging.channels.get"})
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, PathVerify, bytes.NewReader(body))
		rec := httptest.NewRecorder()
		f.srv.ServeHTTP(rec, req)
	}
}
func BenchmarkHandlerBare(b *testing.B) {
	body := []byte(`{"key":"x"}`)
	fixed := []byte(`{"valid":true,"allowed":true,"reason":"ok","message":"The key is valid and allowed.","key":{"id":"0123456789abcdef","name":"bench key 1","scopes":["messaging:GetChannel","messaging:ListChannels"],"expiresAt":"2027-01-01T00:00:00Z"}}`)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Header().Set("Content-Type", "application/json"); w.Write(fixed) })
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, PathVerify, bytes.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
	}
}
