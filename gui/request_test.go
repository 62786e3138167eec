package gui

import (
	"context"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/apicatalog"
	"github.com/keydesk/keydesk/apirequest"
	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/gui/internal/guitest"
)

// rqDoc is a small OpenAPI document; its server is the test's loopback
// server (see rqServer.client).
const rqDoc = `openapi: 3.0.3
info: {title: Shop, version: "2.1"}
servers: [{url: "http://localhost:8080/api"}]
components:
  securitySchemes:
    header: {type: apiKey, in: header, name: X-Api-Key}
security: [{header: []}]
tags:
  - {name: orders, description: "Orders placed in the shop."}
paths:
  /orders/{id}:
    get:
      operationId: getOrder
      summary: Get an order
      tags: [orders]
      parameters:
        - {name: id, in: path, required: true, description: "The order's id.", schema: {type: string, example: o-1}}
        - {name: expand, in: query, description: "Related records to include.", schema: {type: string, example: items}}
      responses: {"200": {description: ok}}
  /orders:
    post:
      operationId: createOrder
      summary: Place an order
      tags: [orders]
      requestBody:
        content: {application/json: {schema: {type: object, properties: {item: {type: string, example: pen}, count: {type: integer, example: 2}}}}}
      responses: {"200": {description: ok}}
`

const rqSecret = "kdk_REQUESTSECRETvalue1234567"

// rqServer is the loopback API: it records what it received and answers
// with a fixed JSON body; with hold set it waits until the request is
// cancelled.
type rqServer struct {
	srv *httptest.Server

	mu       sync.Mutex
	got      []*http.Request
	keys     []string
	hold     bool
	arrived  chan struct{}
	released chan struct{}
	// stop ends a held request that Cancel failed to stop.
	stop chan struct{}
}

func newRQServer(t *testing.T) *rqServer {
	t.Helper()
	s := &rqServer{arrived: make(chan struct{}, 8), released: make(chan struct{}, 8), stop: make(chan struct{})}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.got = append(s.got, r)
		s.keys = append(s.keys, r.Header.Get("X-Api-Key"))
		hold := s.hold
		s.mu.Unlock()
		s.arrived <- struct{}{}
		if hold {
			select {
			case <-r.Context().Done():
				s.released <- struct{}{}
			case <-s.stop:
			}
			return
		}
		w.Header()["Date"] = nil
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Id", "req-42")
		_, _ = w.Write([]byte(`{"id":"o-1","status":"paid","items":[{"item":"pen","count":2}]}`))
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// client sends every request to the loopback server, whatever the URL's
// port: the document names http://localhost:8080, so that the window's
// images do not hold the port of the day.
func (s *rqServer) client() *http.Client {
	addr := s.srv.Listener.Addr().String()
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (s *rqServer) requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got)
}

// rqCatalog imports rqDoc pointing at srv.
func rqCatalog(t *testing.T) *core.Catalog {
	t.Helper()
	p := filepath.Join(t.TempDir(), "shop.yaml")
	if err := os.WriteFile(p, []byte(rqDoc), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := apicatalog.Load(context.Background(), p, apicatalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := apicatalog.Build([]*apicatalog.Document{d}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// rqClock advances 42 ms at each reading, so the answer takes 42 ms.
type rqClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *rqClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(42 * time.Millisecond)
	return c.t
}

// rqFixture is a Try a key view over a real key service whose catalog
// was imported from rqDoc, in a window.
type rqFixture struct {
	v   *tryKeyView
	win fyne.Window
	bg  *testRunner
	api *rqServer
	svc *core.Service
}

func newRQFixture(t *testing.T, variant fyne.ThemeVariant, w, h float32) *rqFixture {
	t.Helper()
	api := newRQServer(t)
	b := guitest.Workspace(t, guitest.Now)
	svc, err := core.NewService(b.Store(), b.Keyring().Signer(), core.FixedClock(guitest.Now), rqCatalog(t))
	if err != nil {
		t.Fatal(err)
	}
	svc.Actor, svc.Rand = "ana", rand.NewChaCha8([32]byte{7})
	guitest.App(t, variant)
	bg := &testRunner{}
	v := newTryKeyView(svc, nil, bg)
	v.req.opts.Now = (&rqClock{t: guitest.Now}).now
	v.req.opts.Client = api.client()
	win := guitest.Window(t, v, w, h)
	v.win = win
	return &rqFixture{v: v, win: win, bg: bg, api: api, svc: svc}
}

// tapButton taps the button labelled text in the window's top overlay.
func tapButton(t *testing.T, win fyne.Window, text string) {
	t.Helper()
	top := win.Canvas().Overlays().Top()
	if top == nil {
		t.Fatalf("no dialog open to tap %q in", text)
	}
	var found *widget.Button
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if b := asButton(o); b != nil && b.Text == text {
			found = b
			return
		}
		switch x := o.(type) {
		case *fyne.Container:
			for _, c := range x.Objects {
				walk(c)
			}
		case fyne.Widget:
			r := test.WidgetRenderer(x)
			for _, c := range r.Objects() {
				walk(c)
			}
		}
	}
	walk(top)
	if found == nil {
		t.Fatalf("no %q button in the dialog", text)
	}
	test.Tap(found)
}

// TestSendAPIRequestShowsTheResponse: the form is filled from the
// document's examples, the key goes where the scheme says, and the status,
// time, headers and pretty-printed JSON are shown (golden).
func TestSendAPIRequestShowsTheResponse(t *testing.T) {
	for _, v := range kvVariants {
		t.Run(v.name, func(t *testing.T) {
			f := newRQFixture(t, v.variant, 1000, 1250)
			tkPick(t, f.v, "order", "getOrder")
			p := f.v.req
			if !p.box.Visible() {
				t.Fatal("Send API Request is hidden for an imported operation")
			}
			if got := p.fields["path:id"].Text; got != "o-1" {
				t.Errorf("id prefilled with %q, want the document's example o-1", got)
			}
			if got := p.server.Text; got != "http://localhost:8080/api" {
				t.Errorf("server %q, want the document's %q", got, "http://localhost:8080/api")
			}
			if p.bodyBox.Visible() {
				t.Error("a GET shows a body editor")
			}
			key, secret := guitest.Create(t, f.svc, "Shop client", core.Lifetime{}, core.Permissions{Kind: core.KindGlobal})
			test.Type(f.v.token, secret)
			test.Tap(p.send)
			f.bg.wait()

			if n := f.api.requests(); n != 1 {
				t.Fatalf("the server got %d requests, want 1", n)
			}
			r := f.api.got[0]
			if r.URL.Path != "/api/orders/o-1" || r.URL.Query().Get("expand") != "items" {
				t.Errorf("sent %s, want /api/orders/o-1?expand=items", r.URL)
			}
			if f.api.keys[0] != secret {
				t.Error("the key did not arrive in the X-Api-Key header")
			}
			if p.status.Text != "200 OK" || !strings.Contains(p.meta.Text, "42ms") {
				t.Errorf("status %q, meta %q", p.status.Text, p.meta.Text)
			}
			if !strings.Contains(p.respBody.Text, "\n  \"status\": \"paid\"") {
				t.Errorf("body not pretty-printed: %q", p.respBody.Text)
			}
			if !strings.Contains(p.headers.Text, "X-Request-Id: req-42") {
				t.Errorf("headers %q", p.headers.Text)
			}
			if k, err := f.svc.Get(key.ID); err != nil || !k.LastUsedAt.IsZero() {
				t.Errorf("sending counted as a use (%v)", err)
			}
			if got := fyne.CurrentApp().Preferences().String(serverPref("shop")); got != "http://localhost:8080/api" {
				t.Errorf("server remembered as %q", got)
			}
			f.win.Canvas().Unfocus()
			test.AssertImageMatches(t, "request_response_"+v.name+".png", f.win.Canvas().Capture())
		})
	}
}

// TestSendAPIRequestCurlMasksTheKey: Copy as curl holds the placeholder,
// never the key.
func TestSendAPIRequestCurlMasksTheKey(t *testing.T) {
	f := newRQFixture(t, theme.VariantLight, 1000, 800)
	tkPick(t, f.v, "order", "getOrder")
	test.Type(f.v.token, rqSecret)
	test.Tap(f.v.req.curl)
	got := fyne.CurrentApp().Clipboard().Content()
	if strings.Contains(got, rqSecret) || strings.Contains(got, "REQUESTSECRET") {
		t.Fatalf("the curl text holds the key: %q", got)
	}
	if !strings.Contains(got, "X-Api-Key: ") || !strings.Contains(got, apirequest.KeyPlaceholder) || !strings.Contains(got, "/api/orders/o-1") {
		t.Errorf("curl text %q", got)
	}
	if f.api.requests() != 0 {
		t.Error("Copy as curl sent the request")
	}
}

// TestSendAPIRequestAsksBeforeChanging: a POST is not sent until the
// confirmation is accepted; its body comes from the schema's example.
func TestSendAPIRequestAsksBeforeChanging(t *testing.T) {
	f := newRQFixture(t, theme.VariantLight, 1000, 900)
	tkPick(t, f.v, "order", "createOrder")
	p := f.v.req
	if !p.bodyBox.Visible() || !strings.Contains(p.body.Text, `"item": "pen"`) {
		t.Fatalf("body editor %v with %q, want the example", p.bodyBox.Visible(), p.body.Text)
	}
	test.Type(f.v.token, rqSecret)
	test.Tap(p.send)
	f.bg.wait()
	if p.confirm == nil || f.api.requests() != 0 {
		t.Fatalf("a POST was sent without asking (%d requests)", f.api.requests())
	}
	tapButton(t, f.win, "No")
	f.bg.wait()
	if f.api.requests() != 0 {
		t.Fatal("declining sent the request")
	}
	test.Tap(p.send)
	tapButton(t, f.win, "Send")
	f.bg.wait()
	if f.api.requests() != 1 || f.api.got[0].Method != http.MethodPost {
		t.Fatalf("accepting did not send the POST (%d requests)", f.api.requests())
	}
	if p.status.Text != "200 OK" {
		t.Errorf("status %q", p.status.Text)
	}
}

// TestSendAPIRequestCancel: Cancel stops a running request: the server
// sees it end, and the form says it was cancelled.
func TestSendAPIRequestCancel(t *testing.T) {
	f := newRQFixture(t, theme.VariantLight, 1000, 800)
	f.api.hold = true
	tkPick(t, f.v, "order", "getOrder")
	p := f.v.req
	test.Type(f.v.token, rqSecret)
	test.Tap(p.send)
	<-f.api.arrived
	if !p.cancelB.Visible() || !p.progress.Visible() || !p.send.Disabled() {
		t.Fatal("no progress and Cancel while the request runs")
	}
	test.Tap(p.cancelB)
	select {
	case <-f.api.released:
	case <-time.After(10 * time.Second): // a failure bound, not a synchronisation
		close(f.api.stop)
		f.bg.wait()
		t.Fatal("Cancel did not stop the running request")
	}
	f.bg.wait()
	if p.cancelB.Visible() || p.progress.Visible() || p.send.Disabled() {
		t.Error("the form still shows a running request")
	}
	if !strings.HasPrefix(p.status.Text, "Cancelled") {
		t.Errorf("status %q after Cancel", p.status.Text)
	}
	if p.failure != nil {
		t.Error("a cancelled request showed an error")
	}
}

// TestSendAPIRequestFailure: a server that does not answer is one plain
// sentence, with the raw error (key masked) under Details.
func TestSendAPIRequestFailure(t *testing.T) {
	f := newRQFixture(t, theme.VariantLight, 1000, 800)
	tkPick(t, f.v, "order", "getOrder")
	p := f.v.req
	f.api.srv.Close()
	test.Type(f.v.token, rqSecret)
	test.Tap(p.send)
	f.bg.wait()
	if p.failure == nil {
		t.Fatal("no error shown")
	}
	if p.failure.plain.Text == "" || strings.Contains(p.failure.plain.Text, "dial") {
		t.Errorf("plain sentence %q", p.failure.plain.Text)
	}
	if strings.Contains(p.failure.technical.Text, rqSecret) {
		t.Error("the details hold the key")
	}
}

// TestSendAPIRequestHiddenForTheBuiltInCatalog: operations of the built-in
// catalog have no document to send from.
func TestSendAPIRequestHiddenForTheBuiltInCatalog(t *testing.T) {
	v, _ := newTKFixture(t).countingView(t)
	tkPick(t, v, "channel", "messaging.channels.list")
	if v.req.box.Visible() {
		t.Error("Send API Request shown for a built-in operation")
	}
}
