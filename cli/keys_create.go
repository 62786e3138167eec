package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/workspace"
)

const createUsage = "keydesk keys create --name N [--expires 1h|36h|7d|30d|6mo|12mo|RFC3339] [--global | --section ID=read|full ... | --op OPERATION_ID ...] [--json]"

// createRequest turns the create flags into a core request. It checks
// everything that needs no catalog, so bad usage never opens the store.
func createRequest(name, expires string, global bool, sections, ops []string) (core.CreateRequest, error) {
	req := core.CreateRequest{Name: name}
	if _, err := core.CleanName(name); err != nil {
		if errors.Is(err, core.ErrNameEmpty) {
			return req, usagef("give the key a name with --name (usage: %s)", createUsage)
		}
		return req, asInput(err)
	}
	if strings.TrimSpace(expires) != "" {
		lt, err := core.ParseLifetime(expires)
		if err != nil {
			return req, asInput(err)
		}
		req.Lifetime = lt
	}
	kinds := 0
	for _, used := range []bool{global, len(sections) > 0, len(ops) > 0} {
		if used {
			kinds++
		}
	}
	switch {
	case kinds == 0:
		return req, usagef("choose the key's permission: --global, --section ID=read|full or --op OPERATION_ID (see keydesk catalog)")
	case kinds > 1:
		return req, usagef("%s: use only one of --global, --section and --op", core.ErrMixedPermissions)
	case global:
		req.Permissions.Kind = core.KindGlobal
	case len(sections) > 0:
		req.Permissions.Kind = core.KindSections
		req.Permissions.Sections = make(map[string]core.Access, len(sections))
		for _, s := range sections {
			id, access, ok := strings.Cut(s, "=")
			id = strings.TrimSpace(id)
			a := core.Access(strings.ToLower(strings.TrimSpace(access)))
			if !ok || id == "" || (a != core.AccessRead && a != core.AccessFull) {
				return req, usagef("--section %q must be ID=read or ID=full, for example --section messaging=read", s)
			}
			if prev, dup := req.Permissions.Sections[id]; dup && prev != a {
				return req, usagef("section %q is given twice, as %s and as %s", id, prev, a)
			}
			req.Permissions.Sections[id] = a
		}
	default:
		req.Permissions.Kind = core.KindOperations
		for _, o := range ops {
			if o = strings.TrimSpace(o); o == "" {
				return req, usagef("--op needs an operation id (see keydesk catalog)")
			}
			req.Permissions.Operations = append(req.Permissions.Operations, o)
		}
	}
	return req, nil
}

// createdKeyJSON is what `keys create --json` prints.
type createdKeyJSON struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Key       string   `json:"key"`
	Hint      string   `json:"hint"`
	Scopes    []string `json:"scopes"`
	CreatedAt string   `json:"createdAt"`
	ExpiresAt string   `json:"expiresAt"`
}

// keysCreateFlags are the flags of `keys create`.
type keysCreateFlags struct {
	name, expires string
	global        bool
	sections, ops []string
	json          bool
}

// newKeysCreateCommand is `keydesk keys create`.
func newKeysCreateCommand(env *Env, c *completer) *cobra.Command {
	f := &keysCreateFlags{}
	cmd := &cobra.Command{
		Use:   "create --name N [--expires LIFETIME] (--global | --section ID=read|full ... | --op OPERATION_ID ...) [--json]",
		Short: "Create a key and show its secret once",
		Long: "Create a key and print it: this is the only time the secret is shown.\n\n" +
			"Give exactly one kind of permission: --global (every operation, at most 7 days), --section\n" +
			"(repeatable) or --op (repeatable); see keydesk catalog for the ids.",
		Example: `  keydesk keys create --name "Nightly report" --section messaging=read --section history=read
  keydesk keys create --name "CRM sync" --op users.list --expires 30d --json
  keydesk keys create --name "Alice dev laptop" --global --expires 36h`,
		Args:              argsNone("keys create takes no arguments, got %q: give the name with --name (usage: " + createUsage + ")"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(*cobra.Command, []string) error {
			return runKeysCreate(env, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.name, "name", "", "the key's `NAME` (1-100 characters)")
	fl.StringVar(&f.expires, "expires", "", "`LIFETIME`: 1h, 36h, 7d, 30d, 6mo, 12mo or an RFC 3339 time (default 12mo, 7d with --global)")
	fl.BoolVar(&f.global, "global", false, "Global Development Access (scope *:*, every operation; at most 7 days)")
	fl.StringArrayVar(&f.sections, "section", nil, "grant a section, `ID=read|full` (repeatable)")
	fl.StringArrayVar(&f.ops, "op", nil, "grant one operation by `OPERATION_ID` (repeatable)")
	fl.BoolVar(&f.json, "json", false, "print the new key as JSON")
	_ = cmd.RegisterFlagCompletionFunc("name", cobra.NoFileCompletions)
	_ = cmd.RegisterFlagCompletionFunc("expires", fixedCompletions("1h", "36h", "7d", "30d", "6mo", "12mo"))
	_ = cmd.RegisterFlagCompletionFunc("section", c.sections)
	_ = cmd.RegisterFlagCompletionFunc("op", c.operations)
	return cmd
}

func runKeysCreate(env *Env, f *keysCreateFlags) error {
	req, err := createRequest(f.name, f.expires, f.global, f.sections, f.ops)
	if err != nil {
		return err
	}
	return withWorkspace(env, func(b *workspace.Workspace) error {
		svc := b.Service()
		// Plan first: every error it finds is the request's fault.
		if _, err := svc.Plan(req, svc.Now()); err != nil {
			return asInput(err)
		}
		dup := svc.NameInUse(req.Name)
		k, secret, err := svc.Create(req)
		if err != nil {
			return asInput(err)
		}
		if dup {
			fmt.Fprintf(env.Stderr, "keydesk: note: another key is also named %q (names need not be unique; the ids differ).\n", k.Name)
		}
		if f.json {
			return writeJSON(env.Stdout, newCreatedKeyJSON(k, secret))
		}
		return printNewKey(env.Stdout, fmt.Sprintf("Created key %q.", k.Name), k, secret, "", svc.Now())
	})
}

// newCreatedKeyJSON is the JSON shape of the new key k with its secret.
func newCreatedKeyJSON(k *core.Key, secret string) createdKeyJSON {
	return createdKeyJSON{
		ID: k.ID, Name: k.Name, Key: secret, Hint: k.Hint, Scopes: nonNil(k.Scopes),
		CreatedAt: utcTime(k.CreatedAt), ExpiresAt: utcTime(k.ExpiresAt),
	}
}

// printNewKey prints the new key k under heading (with a "Rolled from" row
// when rolledFrom is set), then its secret, the only time it is shown.
func printNewKey(out io.Writer, heading string, k *core.Key, secret, rolledFrom string, now time.Time) error {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "%s\n\n", heading)
	fmt.Fprintf(w, "  ID:\t%s\n", k.ID)
	if rolledFrom != "" {
		fmt.Fprintf(w, "  Rolled from:\t%s\n", rolledFrom)
	}
	fmt.Fprintf(w, "  Permission:\t%s\n", k.Permissions.Kind.Label())
	fmt.Fprintf(w, "  Scopes:\t%s\n", strings.Join(k.Scopes, " "))
	fmt.Fprintf(w, "  Created:\t%s\n", localTime(k.CreatedAt))
	fmt.Fprintf(w, "  Expires:\t%s (%s)\n", localTime(k.ExpiresAt), core.FormatRelative(k.ExpiresAt, now))
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write key: %w", err)
	}
	fmt.Fprintf(out, "\n  %s\n\n", secret)
	fmt.Fprintln(out, "This is the only time the key is shown: copy it now and keep it somewhere safe. Keydesk stores only a digest of it and cannot show it again.")
	return nil
}
