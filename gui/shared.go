package gui

import (
	"context"
	"net/url"
	"strings"

	"github.com/keydesk/keydesk/workspace"
)

// storeLabel names a shared store for the title: "host/db", never the
// user or password.
func storeLabel(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "the shared store"
	}
	return u.Host + "/" + strings.TrimPrefix(u.Path, "/")
}

// sharedTitle is the window's title on a shared store, stale when
// PostgreSQL cannot be reached (or its state was not accepted).
func sharedTitle(raw string, stale bool) string {
	t := windowTitle + " — Shared store: " + storeLabel(raw)
	if stale {
		t += " (PostgreSQL unreachable: the keys shown may be out of date)"
	}
	return t
}

// followShared, on a shared store, titles the window with the store and
// follows other admins' changes until ctx ends (reload refreshes the keys
// table); on a data folder it does nothing (the window is titled
// windowTitle, or the demo's title, by showMainUI). The channel closes once the
// following has stopped.
func followShared(ctx context.Context, env *uiEnv, b *workspace.Workspace, reload func()) <-chan struct{} {
	if b.Kind() != workspace.KindShared {
		d := make(chan struct{})
		close(d)
		return d
	}
	env.win.SetTitle(sharedTitle(b.URL(), false))
	return b.Follow(ctx, func([]string) { env.bg.do(reload) }, func(stale bool) {
		env.bg.do(func() {
			if ctx.Err() == nil {
				env.win.SetTitle(sharedTitle(b.URL(), stale))
			}
		})
	})
}
