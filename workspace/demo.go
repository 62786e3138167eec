package workspace

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/keydesk/keydesk/core"
)

const day = 24 * time.Hour

// demoKey is one sample key: its permissions, how long before now it was
// created, how long it lives, and (optionally) how long before now it was
// last used.
type demoKey struct {
	name     string
	perms    core.Permissions
	age      time.Duration
	lifetime core.Lifetime
	usedAgo  time.Duration
}

func sections(pairs ...string) core.Permissions {
	p := core.Permissions{Kind: core.KindSections, Sections: map[string]core.Access{}}
	for i := 0; i+1 < len(pairs); i += 2 {
		p.Sections[pairs[i]] = core.Access(pairs[i+1])
	}
	return p
}

func operations(ids ...string) core.Permissions {
	return core.Permissions{Kind: core.KindOperations, Operations: ids}
}

var global = core.Permissions{Kind: core.KindGlobal}

func days(n int) core.Lifetime   { return core.Lifetime{Duration: time.Duration(n) * day} }
func months(n int) core.Lifetime { return core.Lifetime{Months: n} }

// demoKeys are the sample keys of --demo: every permission kind, some
// expired, some expiring within 7 days, most active.
var demoKeys = []demoKey{
	// Global Development Access (at most 7 days).
	{"Local dev — Ana's laptop", global, 2 * day, days(7), 3 * time.Hour},
	{"Hackathon sandbox", global, 9 * day, days(7), 8 * day},
	{"Debug session (support ticket 4821)", global, 20 * time.Hour, days(1), 25 * time.Minute},
	{"Prototype — voice bot demo", global, 3 * day, days(7), 0},

	// Section access.
	{"Billing sync (prod)", sections("users", "read", "info", "read", "history", "read"), 200 * day, months(12), 9 * time.Minute},
	{"CRM contact sync", sections("users", "full", "messaging", "read"), 40 * day, months(12), 2 * time.Hour},
	{"Zapier integration", sections("messaging", "full"), 120 * day, months(6), 14 * time.Minute},
	{"Data warehouse loader", sections("history", "read", "analytics", "read", "insights", "read"), 300 * day, months(12), 11 * time.Hour},
	{"Nightly CDR export", sections("history", "read", "analytics", "full"), 360 * day, months(12), 13 * time.Hour},
	{"Support dashboard (read-only)", sections("messaging", "read", "users", "read", "history", "read"), 30 * day, days(90), 40 * time.Minute},
	{"PBX provisioning (prod)", sections("pbx", "full"), 380 * day, months(12), 16 * day},
	{"Kite widget builder", sections("kite", "full", "tools", "read"), 10 * day, months(6), 0},
	{"Voicebot orchestration", sections("voicebots", "full", "tools", "full"), 60 * day, months(12), 5 * time.Minute},
	{"Old reporting cron", sections("analytics", "read"), 100 * day, days(90), 11 * day},
	{"Company directory widget", sections("info", "read", "users", "read"), 5 * day, days(30), 3 * day},
	{"Insights pipeline (staging)", sections("insights", "full"), 29 * day, days(30), 6 * time.Hour},
	{"Partner portal (read-only)", sections("info", "read", "kite", "read"), 2 * day, months(12), 0},
	{"Legacy IVR bridge", sections("pbx", "read"), 370 * day, months(12), 40 * day},

	// Specific by operation.
	{"CI pipeline — staging", operations("messaging.channels.list", "messaging.channels.create", "messaging.messages.send", "users.list"), 88 * day, days(90), 50 * time.Minute},
	{"Status page checker", operations("info.company.get", "pbx.version.get"), 15 * day, months(12), time.Minute},
	{"Slack bridge", operations("messaging.channels.list", "messaging.channels.get", "messaging.messages.list", "messaging.messages.send", "messaging.members.list"), 70 * day, months(12), 3 * time.Minute},
	{"Call recording archiver", operations("history.calls.get", "history.calls.transcription", "history.calls.transcriptionText"), 366 * day, months(12), 2 * day},
	{"Webhook relay (prod)", operations("messaging.messages.send", "messaging.files.upload"), 150 * day, months(12), 30 * time.Second},
	{"Mobile app backend", operations("users.get", "messaging.messages.list", "messaging.messages.send", "messaging.files.get"), 45 * day, months(12), 2 * time.Minute},
	{"Voicebot say API", operations("voicebots.sessions.say", "voicebots.sessions.transfer", "voicebots.sessions.hangup"), day, days(7), 0},
	{"Call control panel", operations("pbx.callcontrol.listCalls", "pbx.callcontrol.answer", "pbx.callcontrol.hangup", "pbx.callcontrol.blindTransfer"), 45 * day, months(6), time.Hour},
	{"Analytics dump job", operations("analytics.dumps.create", "analytics.dumps.get"), 200 * day, months(6), 18 * day},
	{"User onboarding script", operations("users.create", "users.update", "users.list"), 6 * day, days(90), 4 * day},
	{"QA smoke tests", operations("info.company.get", "users.list", "messaging.channels.list"), 3 * time.Hour, days(1), 2 * time.Hour},
	{"Tools registry sync", operations("tools.list", "tools.create", "tools.update"), 20 * day, days(90), 7 * time.Hour},
}

// SeedDemo fills store with realistic sample keys relative to now, through
// core.Service so that every record is signed by signer and every creation
// is in the audit log: keys of every permission kind, several already
// expired (created by a service whose clock is in the past) and several
// expiring within 7 days. Section and operation ids missing from catalog
// are left out; a key left with no permission is skipped. The secrets are
// discarded.
func SeedDemo(store core.Store, signer core.Signer, catalog *core.Catalog, now time.Time, actor string) error {
	// Oldest first, so that the audit log (in the order written) reads
	// newest first like a real one.
	ordered := slices.Clone(demoKeys)
	slices.SortStableFunc(ordered, func(a, b demoKey) int { return cmp.Compare(b.age, a.age) })
	for _, d := range ordered {
		perms, ok := demoPermissions(d.perms, catalog)
		if !ok {
			continue
		}
		svc, err := core.NewService(store, signer, core.FixedClock(now.Add(-d.age)), catalog)
		if err != nil {
			return err
		}
		svc.Actor = actor
		_, secret, err := svc.Create(core.CreateRequest{Name: d.name, Lifetime: d.lifetime, Permissions: perms})
		if err != nil {
			return fmt.Errorf("create %q: %w", d.name, err)
		}
		if d.usedAgo <= 0 {
			continue
		}
		user, err := core.NewService(store, signer, core.FixedClock(now.Add(-d.usedAgo)), catalog)
		if err != nil {
			return err
		}
		if v := user.VerifyUse(secret, core.Target{}); v.Valid {
			if err := user.FlushLastUsed(); err != nil {
				return err
			}
		}
	}
	return nil
}

// demoPermissions keeps the parts of p the catalog knows.
func demoPermissions(p core.Permissions, catalog *core.Catalog) (core.Permissions, bool) {
	switch p.Kind {
	case core.KindSections:
		out := core.Permissions{Kind: p.Kind, Sections: map[string]core.Access{}}
		for id, a := range p.Sections {
			if _, ok := catalog.Section(id); ok {
				out.Sections[id] = a
			}
		}
		return out, len(out.Sections) > 0
	case core.KindOperations:
		out := core.Permissions{Kind: p.Kind}
		for _, id := range p.Operations {
			if _, ok := catalog.Operation(id); ok {
				out.Operations = append(out.Operations, id)
			}
		}
		return out, len(out.Operations) > 0
	}
	return p, true
}
