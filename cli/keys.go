package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/server"
	"github.com/keydesk/keydesk/workspace"
)

func init() {
	register("keys", "create, list, rename, delete and verify keys", runKeys)
}

const (
	keysUsage   = "keydesk keys create|list|rename|delete|verify ... (keydesk keys SUBCOMMAND --help for each)"
	createUsage = "keydesk keys create --name N [--expires 1h|36h|7d|30d|6mo|12mo|RFC3339] [--global | --section ID=read|full ... | --op OPERATION_ID ...] [--json]"
	listUsage   = "keydesk keys list [--json] [--expired | --active]"
	renameUsage = "keydesk keys rename ID NAME"
	deleteUsage = "keydesk keys delete ID [--yes]"
	verifyUsage = "keydesk keys verify [--op OPERATION_ID | --scope SCOPE] [--json]   (the key is read from stdin)"
)

var keySubcommands = []struct {
	name, usage string
	run         func(env *Env, args []string) error
}{
	{"create", createUsage, runKeysCreate},
	{"list", listUsage, runKeysList},
	{"rename", renameUsage, runKeysRename},
	{"delete", deleteUsage, runKeysDelete},
	{"verify", verifyUsage, runKeysVerify},
}

func runKeys(env *Env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if len(args) == 0 {
			return usagef("keys needs a subcommand: create, list, rename, delete or verify (see keydesk keys --help)")
		}
		fmt.Fprintln(env.Stdout, "Usage:")
		for _, c := range keySubcommands {
			fmt.Fprintln(env.Stdout, "  "+c.usage)
		}
		return nil
	}
	for _, c := range keySubcommands {
		if c.name == args[0] {
			return c.run(env, args[1:])
		}
	}
	return usagef("unknown keys subcommand %q: use create, list, rename, delete or verify", args[0])
}

// inputErrors are the core errors that mean the request itself is wrong:
// the command line reports them with exit status 2.
var inputErrors = []error{
	core.ErrNameEmpty, core.ErrNameTooLong, core.ErrNameControl,
	core.ErrNoPermission, core.ErrMixedPermissions, core.ErrUnknownSection, core.ErrUnknownOperation, core.ErrBadAccess,
	core.ErrLifetimeTooShort, core.ErrLifetimeTooLong, core.ErrGlobalTooLong, core.ErrBadLifetime,
}

// asInput turns a core input error into a usage error (exit 2); any other
// error is returned unchanged (exit 1).
func asInput(err error) error {
	if err == nil {
		return nil
	}
	for _, ie := range inputErrors {
		if errors.Is(err, ie) {
			return &UsageError{Msg: err.Error()}
		}
	}
	return err
}

// notFound is the usage error for an id that names no key.
func notFound(id string) error {
	return usagef("no key has the id %q (see keydesk keys list)", id)
}

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

func runKeysCreate(env *Env, args []string) error {
	fs := newFlagSet("keys create")
	name := fs.String("name", "", "the key's `name` (1-100 characters)")
	expires := fs.String("expires", "", "lifetime: 1h, 36h, 7d, 30d, 6mo, 12mo or an RFC 3339 time (default 12mo, 7d with --global)")
	global := fs.Bool("global", false, "Global Development Access (scope *:*, every operation; at most 7 days)")
	var sections, ops listFlag
	fs.Var(&sections, "section", "grant a section, `ID=read|full` (repeatable)")
	fs.Var(&ops, "op", "grant one operation by `OPERATION_ID` (repeatable)")
	asJSON := fs.Bool("json", false, "print the new key as JSON")
	pos, err := parseFlags(env, fs, createUsage, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("keys create takes no arguments, got %q: give the name with --name (usage: %s)", pos[0], createUsage)
	}
	req, err := createRequest(*name, *expires, *global, sections, ops)
	if err != nil {
		return err
	}
	return withBackend(env, func(b *workspace.Workspace) error {
		svc := b.Service
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
		if *asJSON {
			return writeJSON(env.Stdout, createdKeyJSON{
				ID: k.ID, Name: k.Name, Key: secret, Hint: k.Hint, Scopes: nonNil(k.Scopes),
				CreatedAt: utcTime(k.CreatedAt), ExpiresAt: utcTime(k.ExpiresAt),
			})
		}
		now := svc.Now()
		w := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintf(w, "Created key %q.\n\n", k.Name)
		fmt.Fprintf(w, "  ID:\t%s\n", k.ID)
		fmt.Fprintf(w, "  Permission:\t%s\n", k.Permissions.Kind.Label())
		fmt.Fprintf(w, "  Scopes:\t%s\n", strings.Join(k.Scopes, " "))
		fmt.Fprintf(w, "  Created:\t%s\n", localTime(k.CreatedAt))
		fmt.Fprintf(w, "  Expires:\t%s (%s)\n", localTime(k.ExpiresAt), core.FormatRelative(k.ExpiresAt, now))
		if err := w.Flush(); err != nil {
			return fmt.Errorf("write key: %w", err)
		}
		fmt.Fprintf(env.Stdout, "\n  %s\n\n", secret)
		fmt.Fprintln(env.Stdout, "This is the only time the key is shown: copy it now and keep it somewhere safe. Keydesk stores only a digest of it and cannot show it again.")
		return nil
	})
}

// listedKeyJSON is one element of `keys list --json`.
type listedKeyJSON struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Hint       string   `json:"hint"`
	Scopes     []string `json:"scopes"`
	CreatedAt  string   `json:"createdAt"`
	ExpiresAt  string   `json:"expiresAt"`
	Expired    bool     `json:"expired"`
	LastUsedAt *string  `json:"lastUsedAt"`
	// Tampered marks a record whose signature does not match (the data
	// file was edited); such a key never verifies.
	Tampered bool `json:"tampered,omitempty"`
}

func runKeysList(env *Env, args []string) error {
	fs := newFlagSet("keys list")
	asJSON := fs.Bool("json", false, "print the keys as a JSON array")
	expired := fs.Bool("expired", false, "only expired keys")
	active := fs.Bool("active", false, "only keys that have not expired")
	pos, err := parseFlags(env, fs, listUsage, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("keys list takes no arguments, got %q (usage: %s)", pos[0], listUsage)
	}
	if *expired && *active {
		return usagef("use either --expired or --active, not both")
	}
	return withBackend(env, func(b *workspace.Workspace) error {
		now := b.Service.Now()
		all := b.Service.List()
		keys := make([]*core.Key, 0, len(all))
		for _, k := range all {
			if (*expired && !k.Expired(now)) || (*active && k.Expired(now)) {
				continue
			}
			keys = append(keys, k)
		}
		if *asJSON {
			out := make([]listedKeyJSON, 0, len(keys))
			for _, k := range keys {
				j := listedKeyJSON{
					ID: k.ID, Name: k.Name, Hint: k.Hint, Scopes: nonNil(k.Scopes),
					CreatedAt: utcTime(k.CreatedAt), ExpiresAt: utcTime(k.ExpiresAt),
					Expired: k.Expired(now), Tampered: k.Tampered,
				}
				if !k.LastUsedAt.IsZero() {
					s := utcTime(k.LastUsedAt)
					j.LastUsedAt = &s
				}
				out = append(out, j)
			}
			return writeJSON(env.Stdout, out)
		}
		return printKeys(env.Stdout, keys, all, now, *expired, *active)
	})
}

func printKeys(out io.Writer, keys, all []*core.Key, now time.Time, expired, active bool) error {
	switch {
	case len(all) == 0:
		fmt.Fprintln(out, "No keys yet. Create one with: keydesk keys create --name NAME --section ID=read (see keydesk catalog for section ids)")
	case len(keys) == 0 && expired:
		fmt.Fprintln(out, "No expired keys.")
	case len(keys) == 0 && active:
		fmt.Fprintln(out, "No active keys.")
	default:
		w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(w, "NAME\tID\tKEY\tSCOPES\tCREATED\tEXPIRES\tLAST USED")
		for _, k := range keys {
			name := k.Name
			switch {
			case k.Tampered:
				name += "  [TAMPERED]"
			case k.Expired(now):
				name += "  [Expired]"
			}
			used := "never"
			if !k.LastUsedAt.IsZero() {
				used = localTime(k.LastUsedAt)
			}
			fmt.Fprintf(w, "%s\t%s\t%s…\t%d\t%s\t%s (%s)\t%s\n", name, k.ID, k.Hint, len(k.Scopes),
				localTime(k.CreatedAt), localTime(k.ExpiresAt), core.FormatRelative(k.ExpiresAt, now), used)
		}
		if err := w.Flush(); err != nil {
			return fmt.Errorf("write keys: %w", err)
		}
		fmt.Fprintln(out)
	}
	_, err := fmt.Fprintln(out, core.CountStats(all, now).String())
	return err
}

func runKeysRename(env *Env, args []string) error {
	fs := newFlagSet("keys rename")
	pos, err := parseFlags(env, fs, renameUsage, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("keys rename needs an id and a new name, quoted if it has spaces (usage: %s)", renameUsage)
	}
	id, name := pos[0], pos[1]
	if _, err := core.CleanName(name); err != nil {
		return asInput(err)
	}
	return withBackend(env, func(b *workspace.Workspace) error {
		old, err := b.Service.Get(id)
		if errors.Is(err, core.ErrNotFound) {
			return notFound(id)
		} else if err != nil {
			return err
		}
		k, err := b.Service.Rename(id, name)
		if errors.Is(err, core.ErrNotFound) {
			return notFound(id)
		} else if err != nil {
			return asInput(err)
		}
		fmt.Fprintf(env.Stdout, "Renamed key %s from %q to %q.\n", k.ID, old.Name, k.Name)
		return nil
	})
}

// errNeedYes is the refusal to delete without confirmation.
func errNeedYes(k *core.Key) error {
	return usagef("not deleting key %q (%s) without confirmation: pass --yes to delete it from a script", k.Name, k.ID)
}

func runKeysDelete(env *Env, args []string) error {
	fs := newFlagSet("keys delete")
	yes := fs.Bool("yes", false, "delete without asking")
	pos, err := parseFlags(env, fs, deleteUsage, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("keys delete needs exactly one key id (usage: %s)", deleteUsage)
	}
	id := pos[0]
	return withBackend(env, func(b *workspace.Workspace) error {
		k, err := b.Service.Get(id)
		if errors.Is(err, core.ErrNotFound) {
			return notFound(id)
		} else if err != nil {
			return err
		}
		if !*yes {
			// End of input still counts as "no", so nothing is
			// deleted without an answer.
			if !env.isTerminal() {
				return errNeedYes(k)
			}
			fmt.Fprintf(env.Stderr, "Delete key %q (%s)? [y/N] ", k.Name, k.ID)
			line, err := bufio.NewReader(env.Stdin).ReadString('\n')
			if err != nil && line == "" {
				fmt.Fprintln(env.Stderr)
				return errNeedYes(k)
			}
			switch strings.ToLower(strings.TrimSpace(line)) {
			case "y", "yes":
			default:
				fmt.Fprintf(env.Stdout, "Kept key %q (%s); nothing was deleted.\n", k.Name, k.ID)
				return nil
			}
		}
		if _, err := b.Service.Delete(id); errors.Is(err, core.ErrNotFound) {
			return notFound(id)
		} else if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Deleted key %q (%s). It no longer verifies.\n", k.Name, k.ID)
		return nil
	})
}

// maxKeyLine bounds how much of stdin verify reads: a key is 53 characters.
const maxKeyLine = 4096

// readKey reads the first line of r, trimmed.
func readKey(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, maxKeyLine)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("read the key from standard input: %w", err)
	}
	return strings.TrimSpace(line), nil
}

func runKeysVerify(env *Env, args []string) error {
	fs := newFlagSet("keys verify")
	opID := fs.String("op", "", "check that the key allows this `OPERATION_ID`")
	scope := fs.String("scope", "", "check that the key holds the authority of this `SCOPE`")
	asJSON := fs.Bool("json", false, "print the answer as JSON (as the HTTP API does)")
	pos, err := parseFlags(env, fs, verifyUsage, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("keys verify reads the key from standard input, not from its arguments, so that it stays out of shell history (usage: %s)", verifyUsage)
	}
	if *opID != "" && *scope != "" {
		return usagef("use either --op or --scope, not both")
	}
	if s := *scope; s != "" {
		if ns, rest, ok := strings.Cut(s, ":"); !ok || ns == "" || rest == "" || strings.ContainsAny(s, " \t") {
			return usagef("--scope %q is not a scope: it looks like section:Name, section:read or section:*", s)
		}
	}
	// Check the operation against this run's catalog before reading the
	// key or opening the store.
	if *opID != "" {
		cat, err := loadCatalog(env)
		if err != nil {
			return err
		}
		if _, ok := cat.Operation(*opID); !ok {
			return usagef("%s %q (see keydesk catalog)", core.ErrUnknownOperation, *opID)
		}
	}
	var secret string
	if env.isTerminal() {
		// No echo: the key stays off the screen and the scrollback.
		secret, err = env.readSecret("Paste the key and press Enter: ")
		secret = strings.TrimSpace(secret)
	} else {
		secret, err = readKey(env.Stdin)
	}
	if err != nil {
		return err
	}
	if secret == "" {
		return usagef("no key on standard input: pipe the key in, e.g. keydesk keys verify < key.txt")
	}
	return withBackend(env, func(b *workspace.Workspace) error {
		var target core.Target
		what := "this operation"
		if *opID != "" {
			op, ok := b.Service.Catalog().Operation(*opID)
			if !ok {
				return usagef("%s %q (see keydesk catalog)", core.ErrUnknownOperation, *opID)
			}
			target.Operation = op
			what = fmt.Sprintf("operation %s (%s %s)", op.ID, op.Method, op.Path)
		} else if *scope != "" {
			target.Scope = *scope
			what = "scope " + *scope
		}
		v := b.Service.Verify(secret, target)
		msg := verifyMessage(v, what, b.Service.Now())
		if *asJSON {
			// The HTTP API's answer, with the command line's fuller message.
			j := server.NewVerifyResponse(v)
			j.Message = msg
			if err := writeJSON(env.Stdout, j); err != nil {
				return err
			}
		} else if v.Allowed {
			fmt.Fprintln(env.Stdout, msg)
			fmt.Fprintf(env.Stdout, "Key %q (%s), scopes %s, expires %s.\n", v.Key.Name, v.Key.ID,
				strings.Join(v.Key.Scopes, " "), localTime(v.Key.ExpiresAt))
		} else {
			fmt.Fprintln(env.Stderr, "keydesk: "+msg)
		}
		if !v.Allowed {
			return ErrDenied
		}
		return nil
	})
}

// verifyMessage is one sentence saying why a key was allowed or denied,
// naming the key when it was found. It never contains the secret.
func verifyMessage(v core.Verification, what string, now time.Time) string {
	if v.Key == nil {
		return v.Reason.Explain()
	}
	k := v.Key
	switch v.Reason {
	case core.ReasonOK:
		if what == "this operation" {
			return "The key is valid."
		}
		return fmt.Sprintf("The key is valid and allows %s.", what)
	case core.ReasonExpired:
		return fmt.Sprintf("The key %q (%s) expired %s, on %s.", k.Name, k.ID, core.FormatRelative(k.ExpiresAt, now), localTime(k.ExpiresAt))
	case core.ReasonForbidden:
		return fmt.Sprintf("The key %q (%s) is valid but its scopes (%s) do not allow %s.", k.Name, k.ID, strings.Join(k.Scopes, " "), what)
	case core.ReasonTampered:
		return fmt.Sprintf("The stored record of key %q (%s) was altered, so it can no longer be used; delete it and create a new key.", k.Name, k.ID)
	}
	return v.Reason.Explain()
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
