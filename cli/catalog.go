package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/keydesk/keydesk/core"
)

const catalogUsage = "keydesk catalog [--search TEXT] [--json]"

// loadCatalog returns the catalog of this run: the --catalog file, else the
// embedded default. It reads no data folder and needs no keyring. A file
// that cannot be read or is not a valid catalog is bad input (exit 2).
// The file is read once per run: the parsed catalog is kept in env.
func loadCatalog(env *Env) (*core.Catalog, error) {
	if env.CatalogFile == "" {
		return core.DefaultCatalog(), nil
	}
	if env.catalog != nil {
		return env.catalog, nil
	}
	data, err := os.ReadFile(env.CatalogFile)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, usagef("cannot read the catalog file %s: %v", env.CatalogFile, err)
	}
	c, err := core.ParseCatalog(data)
	if err != nil {
		detail := strings.TrimPrefix(err.Error(), core.ErrCatalog.Error()+": ")
		return nil, usagef("the catalog file %s is not a valid catalog: %s", env.CatalogFile, detail)
	}
	env.catalog = c
	return c, nil
}

// newCatalogCommand is `keydesk catalog`.
func newCatalogCommand(env *Env) *cobra.Command {
	var search string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "catalog [--search TEXT] [--json]",
		Short: "List the API sections, operations and scopes keys can be given",
		Long: "List the permission catalog: each section with its read-only and full-access scopes and its\n" +
			"operations: the store's (imported with keydesk catalog import), else the embedded one.\n" +
			"--json prints the shape that --catalog reads.",
		Example:           `  keydesk catalog --search "list channels"`,
		Args:              argsNone("catalog takes no arguments, got %q (usage: " + catalogUsage + ")"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(*cobra.Command, []string) error {
			cat, err := storeCatalog(env)
			if err != nil {
				return err
			}
			sections := filterCatalog(cat, search)
			if asJSON {
				return writeJSON(env.Stdout, catalogJSON{Version: cat.Version, GlobalScope: cat.GlobalScope, Sections: sections})
			}
			return printCatalog(env, cat, sections, search)
		},
	}
	cmd.Flags().StringVar(&search, "search", "", "show only operations whose id, name, summary, method, path or section contain every word of `TEXT`")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the catalog as JSON (the shape --catalog reads)")
	_ = cmd.RegisterFlagCompletionFunc("search", cobra.NoFileCompletions)
	cmd.AddCommand(newCatalogImportCommand(env), newCatalogResetCommand(env))
	return cmd
}

// catalogJSON is the catalog file shape, so that `keydesk catalog --json`
// is a starting point for a --catalog file.
type catalogJSON struct {
	Version     string          `json:"catalogVersion,omitempty"`
	GlobalScope string          `json:"globalScope"`
	Sections    []*core.Section `json:"sections"`
}

// filterCatalog returns the sections holding operations that match query,
// each with only its matching operations; every section when query is empty.
func filterCatalog(cat *core.Catalog, query string) []*core.Section {
	if strings.TrimSpace(query) == "" {
		return cat.Sections
	}
	out := []*core.Section{}
	var cur *core.Section
	for _, o := range cat.Search(query) {
		if cur == nil || cur.ID != o.SectionID {
			s, _ := cat.Section(o.SectionID)
			c := *s
			c.Operations = nil
			cur = &c
			out = append(out, cur)
		}
		cur.Operations = append(cur.Operations, o)
	}
	return out
}

func printCatalog(env *Env, cat *core.Catalog, sections []*core.Section, query string) error {
	if len(sections) == 0 {
		fmt.Fprintf(env.Stdout, "No operation matches %q.\n", query)
		return nil
	}
	w := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	n := 0
	for i, s := range sections {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s (section %s: read-only %s, full access %s)\n", s.Title, s.ID, s.ReadOnlyScope, s.FullAccessScope)
		fmt.Fprintln(w, "  OPERATION\tMETHOD\tPATH\tSCOPE\tSUMMARY")
		for _, o := range s.Operations {
			fmt.Fprintf(w, "  %s\t%s\t%s\t%s\t%s\n", o.ID, o.Method, o.Path, o.Scope(), o.Summary)
			n++
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write catalog: %w", err)
	}
	if query == "" {
		fmt.Fprintf(env.Stdout, "\n%d sections, %d operations. Global Development Access is %s.\n", len(sections), n, cat.GlobalScope)
	} else {
		fmt.Fprintf(env.Stdout, "\n%d of %d operations match %q.\n", n, cat.OperationCount(), query)
	}
	return nil
}
