package cli

import (
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/workspace"
)

// completionTimeout bounds the wait for a data folder that another Keydesk
// holds open: completion then offers nothing rather than hanging the shell.
const completionTimeout = 300 * time.Millisecond

// completer completes key ids (from the store) and operation ids, section
// ids and scopes (from the catalog) for `keydesk completion SHELL`.
type completer struct {
	env *Env
	g   *globalFlags
}

// setup applies the global flags given so far on the command line being
// completed; it reports false when they are not usable.
func (c *completer) setup() bool { return c.g.apply(c.env, false) == nil }

// keyIDFirst completes the first argument with the ids of the stored keys,
// each described by its name.
func (c *completer) keyIDFirst(_ *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 || !c.setup() {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	opts := c.env.Options()
	opts.Timeout = completionTimeout
	if !opts.Demo {
		// Never create a data folder just to complete a word.
		dir := opts.Dir
		if dir == "" {
			d, err := workspace.DefaultDir()
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			dir = d
		}
		if ok, err := workspace.FolderExists(dir); err != nil || !ok {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
	}
	b, err := workspace.Open(opts)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	defer b.Close()
	var out []cobra.Completion
	for _, k := range b.Service().List() {
		if strings.HasPrefix(k.ID, toComplete) {
			out = append(out, cobra.CompletionWithDesc(k.ID, k.Name))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// catalog is the catalog of the command line being completed.
func (c *completer) catalog() *core.Catalog {
	if !c.setup() {
		return nil
	}
	cat, err := loadCatalog(c.env)
	if err != nil {
		return nil
	}
	return cat
}

// fromCatalog completes with the candidates offer is given from the
// catalog of the command line being completed, each a value with its
// description: those starting with toComplete, each value once (the first
// description wins). It offers nothing when there is no usable catalog.
func (c *completer) fromCatalog(toComplete string, each func(cat *core.Catalog, offer func(value, desc string))) ([]cobra.Completion, cobra.ShellCompDirective) {
	cat := c.catalog()
	if cat == nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []cobra.Completion
	seen := map[string]bool{}
	each(cat, func(value, desc string) {
		if strings.HasPrefix(value, toComplete) && !seen[value] {
			seen[value] = true
			out = append(out, cobra.CompletionWithDesc(value, desc))
		}
	})
	return out, cobra.ShellCompDirectiveNoFileComp
}

// operations completes operation ids, described by their summaries.
func (c *completer) operations(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return c.fromCatalog(toComplete, func(cat *core.Catalog, offer func(value, desc string)) {
		for _, s := range cat.Sections {
			for _, o := range s.Operations {
				offer(o.ID, o.Summary)
			}
		}
	})
}

// sections completes ID=read and ID=full, described by the section titles.
func (c *completer) sections(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return c.fromCatalog(toComplete, func(cat *core.Catalog, offer func(value, desc string)) {
		for _, s := range cat.Sections {
			for _, a := range []core.Access{core.AccessRead, core.AccessFull} {
				offer(s.ID+"="+string(a), s.Title)
			}
		}
	})
}

// scopes completes the scopes of the catalog: each section's read-only and
// full-access scope and each operation's scope.
func (c *completer) scopes(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return c.fromCatalog(toComplete, func(cat *core.Catalog, offer func(value, desc string)) {
		for _, s := range cat.Sections {
			offer(s.ReadOnlyScope, s.Title+", read-only")
			offer(s.FullAccessScope, s.Title+", full access")
			for _, o := range s.Operations {
				offer(o.Scope(), o.Summary)
			}
		}
	})
}

// fixedCompletions completes a flag with fixed values.
func fixedCompletions(values ...string) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		var out []cobra.Completion
		for _, v := range values {
			if strings.HasPrefix(v, toComplete) {
				out = append(out, v)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
