package core

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefaultCatalogLoads(t *testing.T) {
	c := DefaultCatalog()
	if len(c.Sections) != 10 || c.OperationCount() != 99 {
		t.Fatalf("default catalog has %d sections and %d operations, want 10 and 99", len(c.Sections), c.OperationCount())
	}
	for _, s := range c.Sections {
		for _, o := range s.Operations {
			if o.ReadOnly {
				if !Allows([]string{s.ReadOnlyScope}, o, s) {
					t.Errorf("%s is read-only but %s does not allow it", o.ID, s.ReadOnlyScope)
				}
			} else if Allows([]string{s.ReadOnlyScope}, o, s) {
				t.Errorf("%s is not read-only but %s allows it", o.ID, s.ReadOnlyScope)
			}
		}
	}
}

const miniCatalog = `{"catalogVersion":"t","globalScope":"*:*","sections":[
 {"id":"a","title":"A","readOnlyScope":"a:read","fullAccessScope":"a:*","operations":[
  {"id":"a.list","method":"GET","path":"/a","summary":"List","readOnly":true,"scopes":["a:List","a:read"]}]}%s]}`

func TestParseCatalogErrors(t *testing.T) {
	tests := []struct {
		name, extra, want string
	}{
		{"duplicate section", `,{"id":"a","title":"A2","readOnlyScope":"a:read","fullAccessScope":"a:*","operations":[]}`, `duplicate section id "a"`},
		{"duplicate operation", `,{"id":"b","title":"B","readOnlyScope":"b:read","fullAccessScope":"b:*","operations":[{"id":"a.list","method":"GET","path":"/b","summary":"x","scopes":["b:X"]}]}`, `duplicate operation id "a.list"`},
		{"scope of another section", `,{"id":"b","title":"B","readOnlyScope":"b:read","fullAccessScope":"b:*","operations":[{"id":"b.x","method":"GET","path":"/b","summary":"x","scopes":["a:List"]}]}`, `belongs to section "a"`},
		{"malformed scope", `,{"id":"b","title":"B","readOnlyScope":"b:read","fullAccessScope":"b:*","operations":[{"id":"b.x","method":"GET","path":"/b","summary":"x","scopes":["b List"]}]}`, `malformed scope "b List"`},
		{"bad method", `,{"id":"b","title":"B","readOnlyScope":"b:read","fullAccessScope":"b:*","operations":[{"id":"b.x","method":"FETCH","path":"/b","summary":"x","scopes":["b:X"]}]}`, `unknown method`},
		{"wrong read scope", `,{"id":"b","title":"B","readOnlyScope":"c:read","fullAccessScope":"b:*","operations":[]}`, `readOnlyScope must be "b:read"`},
		{"write op with read scope", `,{"id":"b","title":"B","readOnlyScope":"b:read","fullAccessScope":"b:*","operations":[{"id":"b.x","method":"POST","path":"/b","summary":"x","scopes":["b:read"]}]}`, `is not read-only`},
		{"no scopes", `,{"id":"b","title":"B","readOnlyScope":"b:read","fullAccessScope":"b:*","operations":[{"id":"b.x","method":"POST","path":"/b","summary":"x","scopes":[]}]}`, `has no scopes`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCatalog([]byte(strings.Replace(miniCatalog, "%s", tc.extra, 1)))
			if !errors.Is(err, ErrCatalog) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := ParseCatalog([]byte(strings.Replace(miniCatalog, "%s", "", 1))); err != nil {
		t.Fatalf("valid mini catalog: %v", err)
	}
}

func TestLoadCatalogFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"sections": [`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCatalogFile(bad); !errors.Is(err, ErrCatalog) || !strings.Contains(err.Error(), "not valid JSON") {
		t.Fatalf("invalid JSON: %v", err)
	}
	if _, err := LoadCatalogFile(filepath.Join(dir, "missing.json")); err == nil {
		t.Fatal("missing file loaded")
	}
	good := filepath.Join(dir, "good.json")
	if err := os.WriteFile(good, []byte(strings.Replace(miniCatalog, "%s", "", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadCatalogFile(good)
	if err != nil || c.OperationCount() != 1 {
		t.Fatalf("good file: %v", err)
	}
}

func TestAllowRule(t *testing.T) {
	c := DefaultCatalog()
	tests := []struct {
		scopes []string
		op     string
		want   bool
	}{
		{[]string{"*:*"}, "pbx.callcontrol.answer", true},
		{[]string{"messaging:*"}, "messaging.channels.delete", true},
		{[]string{"messaging:read"}, "messaging.channels.list", true},
		{[]string{"messaging:read"}, "messaging.channels.delete", false},
		{[]string{"messaging:ListChannels"}, "messaging.channels.list", true},
		{[]string{"messaging:ListChannels"}, "messaging.channels.get", false},
		{[]string{"users:*"}, "messaging.channels.list", false},
		{[]string{"pbx:read"}, "pbx.callcontrol.listCalls", true},
		{[]string{"pbx:read"}, "pbx.callcontrol.answer", false},
		{[]string{"callcontrol:*"}, "pbx.callcontrol.answer", true},
		{[]string{"callcontrol:*"}, "pbx.aclgroups.list", false},
		{[]string{"messaging:*x"}, "messaging.channels.list", false},
		{nil, "messaging.channels.list", false},
	}
	for _, tc := range tests {
		got, err := c.AllowsOperation(tc.scopes, tc.op)
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("AllowsOperation(%v, %s) = %v, want %v", tc.scopes, tc.op, got, tc.want)
		}
	}
	if _, err := c.AllowsOperation([]string{"*:*"}, "no.such.op"); !errors.Is(err, ErrUnknownOperation) {
		t.Errorf("unknown op: %v", err)
	}
}

func TestScopesPerKind(t *testing.T) {
	c := DefaultCatalog()
	tests := []struct {
		p    Permissions
		want string
	}{
		{Permissions{Kind: KindGlobal}, "*:*"},
		{Permissions{Kind: KindSections, Sections: map[string]Access{"users": AccessFull, "messaging": AccessRead}}, "messaging:read users:*"},
		{Permissions{Kind: KindOperations, Operations: []string{"messaging.channels.list", "messaging.channels.get", "messaging.channels.list"}}, "messaging:GetChannel messaging:ListChannels"},
	}
	for _, tc := range tests {
		got, err := c.Scopes(tc.p)
		if err != nil || strings.Join(got, " ") != tc.want {
			t.Errorf("Scopes(%+v) = %v, %v; want %s", tc.p, got, err, tc.want)
		}
	}
}

func TestSearchAndDescribe(t *testing.T) {
	c := DefaultCatalog()
	for _, q := range []string{"messaging.channels.list", "ListChannels", "sorted by last", "GET /v2/conversations/channels", "messaging list"} {
		found := false
		for _, o := range c.Search(q) {
			if o.ID == "messaging.channels.list" {
				found = true
			}
		}
		if !found {
			t.Errorf("Search(%q) misses messaging.channels.list", q)
		}
	}
	if n := len(c.Search("")); n != 99 {
		t.Errorf("empty search found %d", n)
	}
	if n := len(c.Search("zzzz-nothing")); n != 0 {
		t.Errorf("nonsense search found %d", n)
	}
	tests := map[string]ScopeInfo{
		"*:*":                    {"*:*", "All sections", "Every operation (Global Development Access)"},
		"messaging:*":            {"messaging:*", "Messaging", "Full access"},
		"users:read":             {"users:read", "Users", "Read-only"},
		"messaging:ListChannels": {"messaging:ListChannels", "Messaging", "ListChannels"},
	}
	for scope, want := range tests {
		if got := c.Describe(scope); got != want {
			t.Errorf("Describe(%s) = %+v, want %+v", scope, got, want)
		}
	}
	if got := c.Describe("callcontrol:*"); got.Section != "PBX API" {
		t.Errorf("Describe(callcontrol:*) = %+v", got)
	}
}

func TestMatchRoute(t *testing.T) {
	c := DefaultCatalog()
	tests := []struct {
		method, uri, want string
		params            map[string]string
	}{
		{"GET", "/v2/conversations/channels", "messaging.channels.list", nil},
		{"GET", "/v2/conversations/channels/", "messaging.channels.list", nil},
		{"GET", "/v2/conversations/channels?limit=5&offset=2", "messaging.channels.list", nil},
		{"GET", "/v2/conversations/channels/abc123", "messaging.channels.get", map[string]string{"channelId": "abc123"}},
		{"get", "/v2/conversations/channels/abc123", "", nil},
		{"Delete", "/v2/conversations/channels/c1/members/u2", "", nil},
		{"GET", "/v2/conversations/channels/abc%41123/", "messaging.channels.get", map[string]string{"channelId": "abcA123"}},
		{"GET", "/v2/conversations/channels/caf%C3%A9", "messaging.channels.get", map[string]string{"channelId": "café"}},
		{"GET", "/v2/conversations/channels/a.b..c", "messaging.channels.get", map[string]string{"channelId": "a.b..c"}},
		{"GET", "/v2/conversations/channels/%2e%2ex", "messaging.channels.get", map[string]string{"channelId": "..x"}},
		{"GET", "/v2/conversations/channels/a?next=/../..;%00#", "", nil},
		{"GET", "/v2/conversations/channels/a?next=/../..;%00%20", "messaging.channels.get", map[string]string{"channelId": "a"}},
		{"GET", "/v2/users/bots", "users.bots.list", nil},
		{"DELETE", "/v2/users/BOTS", "users.delete", map[string]string{"userId": "BOTS"}},
		{"HEAD", "/v2/conversations/channels/abc", "messaging.channels.get", map[string]string{"channelId": "abc"}},
		{"POST", "/v2/conversations/channels/direct", "messaging.channels.getOrCreateDirect", nil},
		{"DELETE", "/v2/conversations/channels/c1/members/u2", "messaging.members.remove", map[string]string{"channelId": "c1", "userId": "u2"}},
		{"PUT", "/v2/conversations/channels", "", nil},
		{"GET", "/nothing/here", "", nil},
		{"GET", "/v2/conversations/channels//members", "", nil},
	}
	for _, tc := range tests {
		op, params, ok := c.MatchRoute(tc.method, tc.uri)
		if tc.want == "" {
			if ok {
				t.Errorf("MatchRoute(%s %s) = %s, want no match", tc.method, tc.uri, op.ID)
			}
			continue
		}
		if !ok || op.ID != tc.want {
			t.Errorf("MatchRoute(%s %s) = %v, want %s", tc.method, tc.uri, op, tc.want)
			continue
		}
		for k, v := range tc.params {
			if params[k] != v {
				t.Errorf("MatchRoute(%s %s) param %s = %q, want %q", tc.method, tc.uri, k, params[k], v)
			}
		}
	}
	get, _ := c.Operation("messaging.members.remove")
	if got := get.FillPath(map[string]string{"channelId": "a/b", "userId": "u"}); got != "/v2/conversations/channels/a%2Fb/members/u" {
		t.Errorf("FillPath = %s", got)
	}
}
