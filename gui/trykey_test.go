package gui

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/gui/internal/guitest"
)

// tkFixture is a real key service (bbolt store, keyring-derived signer)
// with keys of every state, seen at guitest.Now.
type tkFixture struct {
	svc                                     *core.Service
	global, readOnly, expired, otherSection string
	readOnlyKey                             *core.Key
}

func newTKFixture(t *testing.T) *tkFixture {
	t.Helper()
	b := guitest.Workspace(t, guitest.Now)
	// Keys created two hours earlier; the expired one lived one hour.
	earlier := guitest.Service(t, b, guitest.Now.Add(-2*time.Hour), 1)
	f := &tkFixture{}
	_, f.global = guitest.Create(t, earlier, "Local dev", core.Lifetime{}, core.Permissions{Kind: core.KindGlobal})
	f.readOnlyKey, f.readOnly = guitest.Create(t, earlier, "Slack bridge", core.Lifetime{Months: 6},
		core.Permissions{Kind: core.KindSections, Sections: map[string]core.Access{"messaging": core.AccessRead}})
	_, f.expired = guitest.Create(t, earlier, "Debug session", core.Lifetime{Duration: time.Hour}, core.Permissions{Kind: core.KindGlobal})
	_, f.otherSection = guitest.Create(t, earlier, "Billing sync", core.Lifetime{},
		core.Permissions{Kind: core.KindSections, Sections: map[string]core.Access{"users": core.AccessFull}})
	f.svc = guitest.Service(t, b, guitest.Now, 2)
	return f
}

// countingService counts verifications.
type countingService struct {
	tryKeyService
	calls atomic.Int32
}

func (c *countingService) Verify(secret string, t core.Target) core.Verification {
	c.calls.Add(1)
	return c.tryKeyService.Verify(secret, t)
}

// countingView shows a Try a key view over f's keys, in a light 1000×700
// window, whose verifications are counted.
func (f *tkFixture) countingView(t *testing.T) (*tryKeyView, *countingService) {
	t.Helper()
	guitest.App(t, theme.VariantLight)
	svc := &countingService{tryKeyService: f.svc}
	v := newTryKeyView(svc, nil, &testRunner{})
	guitest.Window(t, v, 1000, 700)
	return v, svc
}

// tkPick searches the operation list and selects the operation with id.
func tkPick(t *testing.T, v *tryKeyView, query, id string) {
	t.Helper()
	test.Type(v.search, query)
	for i, op := range v.ops {
		if op.ID == id {
			v.opList.Select(i)
			if v.selected != op {
				t.Fatalf("selecting %s did not select it", id)
			}
			return
		}
	}
	t.Fatalf("operation %s not listed for search %q (%d listed)", id, query, len(v.ops))
}

// tkSend fills the form, taps Send API Request and waits for the answer.
func tkSend(t *testing.T, v *tryKeyView, params map[string]string, token string) {
	t.Helper()
	for name, val := range params {
		e, ok := v.paramEntry[name]
		if !ok {
			t.Fatalf("no entry for path parameter %s", name)
		}
		test.Type(e, val)
	}
	v.token.SetText("")
	test.Type(v.token, token)
	test.Tap(v.send)
	bgWait(v.bg)
}

func TestTryKeyResponses(t *testing.T) {
	f := newTKFixture(t)
	unknown := core.FormatKey([32]byte{42})
	last := "A"
	if strings.HasSuffix(f.readOnly, "A") {
		last = "B"
	}
	badChecksum := f.readOnly[:len(f.readOnly)-1] + last
	cases := []struct {
		name, op, query, token string
		wantStatus             string
		wantImportance         widget.Importance
		wantReason             core.Reason
		wantKey                string
	}{
		{"200 section read", "messaging.channels.get", "GetChannel", f.readOnly, "200 OK · ok", widget.SuccessImportance, core.ReasonOK, "Slack bridge"},
		{"200 global", "messaging.channels.get", "GetChannel", f.global, "200 OK · ok", widget.SuccessImportance, core.ReasonOK, "Local dev"},
		{"401 malformed", "messaging.channels.get", "GetChannel", "Bearer hello", "401 Unauthorized · malformed", widget.DangerImportance, core.ReasonMalformed, ""},
		{"401 bad checksum", "messaging.channels.get", "GetChannel", badChecksum, "401 Unauthorized · bad_checksum", widget.DangerImportance, core.ReasonBadChecksum, ""},
		{"401 unknown", "messaging.channels.get", "GetChannel", unknown, "401 Unauthorized · unknown", widget.DangerImportance, core.ReasonUnknown, ""},
		{"401 expired", "messaging.channels.get", "GetChannel", f.expired, "401 Unauthorized · expired", widget.DangerImportance, core.ReasonExpired, "Debug session"},
		{"403 write with read-only", "messaging.channels.delete", "DeleteChannel", f.readOnly, "403 Forbidden · forbidden", widget.DangerImportance, core.ReasonForbidden, "Slack bridge"},
		{"403 other section", "messaging.channels.get", "GetChannel", f.otherSection, "403 Forbidden · forbidden", widget.DangerImportance, core.ReasonForbidden, "Billing sync"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			guitest.App(t, theme.VariantLight)
			v := newTryKeyView(f.svc, nil, &testRunner{})
			w := guitest.Window(t, v, 1000, 700)
			tkPick(t, v, c.query, c.op)
			tkSend(t, v, map[string]string{"channelId": "123"}, c.token)

			if got := v.status.Text; got != c.wantStatus {
				t.Errorf("status = %q, want %q", got, c.wantStatus)
			}
			if v.status.Importance != c.wantImportance {
				t.Errorf("status importance = %v, want %v", v.status.Importance, c.wantImportance)
			}
			if got := v.reason.Text; got != c.wantReason.Explain() {
				t.Errorf("reason = %q, want %q", got, c.wantReason.Explain())
			}
			op, _ := f.svc.Catalog().Operation(c.op)
			if want := op.Method + " https://api.x-bees.com/v2/conversations/channels/123"; v.requestLine.Text != want {
				t.Errorf("request line = %q, want %q", v.requestLine.Text, want)
			}
			wantAuth := "Authorization: Bearer …"
			if strings.HasPrefix(c.token, "kdk_") {
				wantAuth = "Authorization: Bearer " + c.token[:7] + "…"
			}
			if v.authLine.Text != wantAuth {
				t.Errorf("auth line = %q, want %q", v.authLine.Text, wantAuth)
			}
			if c.wantKey == "" {
				if v.keyInfo.Visible() {
					t.Errorf("key details shown for %s", c.wantReason)
				}
			} else if !v.keyInfo.Visible() || v.keyName.Text != c.wantKey {
				t.Errorf("key details: visible %v, name %q; want %q", v.keyInfo.Visible(), v.keyName.Text, c.wantKey)
			}
			if !v.result.Visible() || v.send.Disabled() {
				t.Errorf("result visible %v, send disabled %v", v.result.Visible(), v.send.Disabled())
			}
			// The key is never shown, only its hint.
			if len(c.token) > 7 && strings.Contains(test.RenderToMarkup(w.Canvas()), c.token) {
				t.Error("the full token appears in the rendered window")
			}
		})
	}
}

func TestTryKeyShowsScopesOfMatchedKey(t *testing.T) {
	f := newTKFixture(t)
	guitest.App(t, theme.VariantLight)
	v := newTryKeyView(f.svc, nil, &testRunner{})
	v.loc = guitest.Zone
	guitest.Window(t, v, 1000, 700)
	tkPick(t, v, "ListChannels", "messaging.channels.list")
	if len(v.paramEntry) != 0 {
		t.Fatalf("operation without parameters shows %d parameter fields", len(v.paramEntry))
	}
	tkSend(t, v, nil, "  "+f.readOnly+"\n")
	if v.status.Text != "200 OK · ok" {
		t.Fatalf("status = %q (a pasted key with surrounding blanks must verify)", v.status.Text)
	}
	if v.keyID.Text != f.readOnlyKey.ID || v.keyScopes.Text != "messaging:read" {
		t.Errorf("key id %q scopes %q, want %q and messaging:read", v.keyID.Text, v.keyScopes.Text, f.readOnlyKey.ID)
	}
	wantExp := f.readOnlyKey.ExpiresAt.In(guitest.Zone).Format("2006-01-02 15:04 MST") + " (" + f.readOnlyKey.ExpiresAt.UTC().Format("15:04 UTC") + ")"
	if v.keyExpires.Text != wantExp {
		t.Errorf("expires = %q, want %q", v.keyExpires.Text, wantExp)
	}
	if v.requestLine.Text != "GET https://api.x-bees.com/v2/conversations/channels" {
		t.Errorf("request line = %q", v.requestLine.Text)
	}
}

func TestTryKeyMissingPathParameter(t *testing.T) {
	f := newTKFixture(t)
	v, svc := f.countingView(t)
	tkPick(t, v, "messages get", "messaging.messages.get")
	if len(v.paramNames) != 2 || v.paramNames[0] != "channelId" || v.paramNames[1] != "messageId" {
		t.Fatalf("parameter fields = %v, want [channelId messageId]", v.paramNames)
	}
	tkSend(t, v, map[string]string{"channelId": "123"}, f.readOnly)

	// An empty parameter takes its example: the permission does not depend
	// on it, so it is not required.
	if msg := v.paramMsg["messageId"]; msg.Visible() {
		t.Errorf("messageId (empty) has a message: %q", msg.Text)
	}
	if svc.calls.Load() != 1 || v.requestLine.Text != "GET https://api.x-bees.com/v2/conversations/channels/123/messages/example-messageId" {
		t.Errorf("with messageId empty: %d verifications, request %q", svc.calls.Load(), v.requestLine.Text)
	}
	if !strings.Contains(v.paramEntry["messageId"].PlaceHolder, "example-messageId") {
		t.Errorf("placeholder %q does not show the example", v.paramEntry["messageId"].PlaceHolder)
	}

	test.Type(v.paramEntry["messageId"], "m-9")
	test.Tap(v.send)
	bgWait(v.bg)
	if svc.calls.Load() != 2 || v.requestLine.Text != "GET https://api.x-bees.com/v2/conversations/channels/123/messages/m-9" {
		t.Errorf("after filling: %d verifications, request %q", svc.calls.Load(), v.requestLine.Text)
	}
}

func TestTryKeyRequiresOperationAndToken(t *testing.T) {
	f := newTKFixture(t)
	v, svc := f.countingView(t)
	test.Tap(v.send)
	bgWait(v.bg)
	if v.opMsg.Text != "Pick an operation from the list." || !v.opMsg.Visible() {
		t.Errorf("operation message = %q (visible %v)", v.opMsg.Text, v.opMsg.Visible())
	}
	if v.tokenMsg.Text != "Paste a key to check." || !v.tokenMsg.Visible() {
		t.Errorf("token message = %q (visible %v)", v.tokenMsg.Text, v.tokenMsg.Visible())
	}
	if svc.calls.Load() != 0 {
		t.Errorf("%d verifications without an operation or token", svc.calls.Load())
	}
	tkPick(t, v, "ListChannels", "messaging.channels.list")
	if v.opMsg.Visible() {
		t.Error("picking an operation did not clear its message")
	}
}

func TestTryKeySearchFiltersOperations(t *testing.T) {
	f := newTKFixture(t)
	guitest.App(t, theme.VariantLight)
	v := newTryKeyView(f.svc, nil, &testRunner{})
	guitest.Window(t, v, 1000, 700)
	all := len(v.ops)
	if all != f.svc.Catalog().OperationCount() {
		t.Fatalf("list shows %d operations, catalog has %d", all, f.svc.Catalog().OperationCount())
	}
	test.Type(v.search, "delete channel")
	if len(v.ops) == 0 || len(v.ops) >= all {
		t.Fatalf("search shows %d of %d operations", len(v.ops), all)
	}
	for _, op := range v.ops {
		if op.Method != "DELETE" && !strings.Contains(strings.ToLower(op.Title()+op.Summary+op.ID), "delete") {
			t.Errorf("search for 'delete channel' lists %s", op.ID)
		}
	}
	// The list item shows METHOD path and name · section.
	item := v.opList.CreateItem()
	v.opList.UpdateItem(0, item)
	labels := item.(*fyne.Container).Objects
	op := v.ops[0]
	if got := labels[0].(*widget.Label).Text; got != op.Method+" "+op.Path {
		t.Errorf("item route = %q", got)
	}
	if got := labels[1].(*widget.Label).Text; got != op.Title()+" · "+v.sectionTitle(op) {
		t.Errorf("item name = %q", got)
	}
}

func TestTryKeyGolden(t *testing.T) {
	f := newTKFixture(t)
	for _, tc := range []struct{ name, op, query, token string }{
		{"200", "messaging.channels.get", "GetChannel", f.readOnly},
		{"403", "messaging.channels.delete", "DeleteChannel", f.readOnly},
		{"401", "messaging.channels.get", "GetChannel", f.expired},
	} {
		for _, th := range guitest.Variants {
			t.Run(tc.name+"_"+th.Name, func(t *testing.T) {
				guitest.App(t, th.Variant)
				v := newTryKeyView(f.svc, nil, &testRunner{})
				v.loc = guitest.Zone
				w := guitest.Window(t, v, 1000, 680)
				tkPick(t, v, tc.query, tc.op)
				tkSend(t, v, map[string]string{"channelId": "123"}, tc.token)
				w.Canvas().Unfocus()
				test.AssertImageMatches(t, "trykey_"+tc.name+"_"+th.Name+".png", w.Canvas().Capture())
			})
		}
	}
}
