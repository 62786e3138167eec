package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keydesk/keydesk/apicatalog"
	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/workspace"
)

const catalogImportUsage = "keydesk catalog import FILE_OR_URL... [--dry-run] [--json] [--yes]"

// newCatalogImportCommand is `keydesk catalog import`.
func newCatalogImportCommand(env *Env) *cobra.Command {
	var dryRun, asJSON, yes bool
	cmd := &cobra.Command{
		Use:   "import FILE_OR_URL... [--dry-run] [--json] [--yes]",
		Short: "Make the store's catalog from the company's OpenAPI or Swagger documents",
		Long: "Import OpenAPI 3.0/3.1 and Swagger 2.0 documents (JSON or YAML, files or https:// URLs) as the\n" +
			"store's permission catalog; several documents together make one catalog. It first prints what\n" +
			"changes, above all the existing keys each change widens or orphans, then asks (--yes from a\n" +
			"script; --dry-run only prints). The mapping rules are in the README.",
		Example: "  keydesk catalog import openapi.yaml --dry-run\n  keydesk catalog import https://api.example.com/openapi.json billing.yaml --yes",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("name at least one OpenAPI document (usage: %s)", catalogImportUsage)
			}
			return nil
		},
		RunE: func(*cobra.Command, []string) error { return nil },
	}
	cmd.RunE = func(_ *cobra.Command, args []string) error {
		return runCatalogImport(env, args, dryRun, asJSON, yes)
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print what would change and change nothing")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the documents and the changes as JSON")
	cmd.Flags().BoolVar(&yes, "yes", false, "import without asking (for scripts)")
	return cmd
}

// importReport is the --json output of catalog import.
type importReport struct {
	Documents  []importedDocument `json:"documents"`
	Sections   int                `json:"sections"`
	Operations int                `json:"operations"`
	Diff       *core.CatalogDiff  `json:"diff"`
	Imported   bool               `json:"imported"`
}

type importedDocument struct {
	Source      string `json:"source"`
	Title       string `json:"title"`
	Version     string `json:"version"`
	SpecVersion string `json:"specVersion"`
	Digest      string `json:"digest"`
}

func runCatalogImport(env *Env, sources []string, dryRun, asJSON, yes bool) error {
	if env.CatalogFile != "" {
		return usagef("--catalog replaces the catalog for one run only; leave it out to import into the store")
	}
	// Refuse a script's import without --yes before any work.
	if !dryRun && !yes && !env.isTerminal() {
		return usagef("not importing the catalog without confirmation: pass --yes to import from a script, or --dry-run to only see the changes")
	}
	var docs []*apicatalog.Document
	for _, src := range sources {
		d, err := apicatalog.Load(env.context(), src, apicatalog.Options{})
		if err != nil {
			return usagef("%s", importSentence(err))
		}
		docs = append(docs, d)
	}
	return withCatalogWorkspace(env, func(b *workspace.Workspace) error {
		current, err := currentCatalog(env, b)
		if err != nil {
			return err
		}
		next, err := apicatalog.Build(docs, current)
		if err != nil {
			return usagef("%s", importSentence(err))
		}
		diff := core.DiffCatalogs(current, next, b.Service().List())
		report := importReport{Sections: len(next.Sections), Operations: next.OperationCount(), Diff: diff}
		for _, d := range docs {
			report.Documents = append(report.Documents, importedDocument{d.Source, d.Title, d.Version, d.SpecVersion, d.Digest})
		}
		if !asJSON {
			printImportPreview(env, docs, next, diff)
		}
		if dryRun {
			if asJSON {
				return writeJSON(env.Stdout, report)
			}
			fmt.Fprintln(env.Stdout, "Dry run: nothing was changed.")
			return nil
		}
		if !yes {
			if !env.confirm("Import this catalog?") {
				fmt.Fprintln(env.Stdout, "Not imported; the catalog is unchanged.")
				return nil
			}
		}
		if err := b.ImportCatalog(next); err != nil {
			return err
		}
		report.Imported = true
		if asJSON {
			return writeJSON(env.Stdout, report)
		}
		fmt.Fprintf(env.Stdout, "Imported %d operations in %d sections; keys are now created and verified against this catalog.\n", next.OperationCount(), len(next.Sections))
		return nil
	})
}

func printImportPreview(env *Env, docs []*apicatalog.Document, next *core.Catalog, diff *core.CatalogDiff) {
	for _, d := range docs {
		fmt.Fprintf(env.Stdout, "%s %s (%s %s, sha256 %s…)\n", d.Title, d.Version, specName(d.SpecVersion), d.Source, d.Digest[:12])
	}
	fmt.Fprintf(env.Stdout, "The new catalog: %d sections, %d operations.\n", len(next.Sections), next.OperationCount())
	if diff.Empty() {
		fmt.Fprintln(env.Stdout, "Nothing changes.")
		return
	}
	fmt.Fprintln(env.Stdout, "Changes:")
	for _, l := range diff.Lines() {
		fmt.Fprintf(env.Stdout, "  - %s\n", l)
	}
}

func specName(v string) string {
	if v == "2.0" {
		return "Swagger 2.0,"
	}
	return "OpenAPI " + v + ","
}

// importSentence is the one sentence of a failed import.
func importSentence(err error) string {
	s := err.Error()
	if errors.Is(err, apicatalog.ErrTooLarge) {
		return s + "."
	}
	return strings.TrimSuffix(s, ".") + "."
}

// newCatalogResetCommand is `keydesk catalog reset`.
func newCatalogResetCommand(env *Env) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "reset [--yes]",
		Short: "Go back to the embedded catalog",
		Long:  "Remove the imported catalog from the store; keys are checked against the embedded catalog again.\nIt prints what changes first and asks (--yes from a script).",
		Args:  argsNone("catalog reset takes no arguments, got %q (usage: keydesk catalog reset [--yes])"),
		RunE: func(*cobra.Command, []string) error {
			if env.CatalogFile != "" {
				return usagef("--catalog replaces the catalog for one run only; leave it out to reset the store's catalog")
			}
			if !yes && !env.isTerminal() {
				return usagef("not resetting the catalog without confirmation: pass --yes to reset it from a script")
			}
			return withCatalogWorkspace(env, func(b *workspace.Workspace) error {
				_, serr := b.StoredCatalog()
				forged := errors.Is(serr, core.ErrCatalogForged)
				current, err := currentCatalog(env, b)
				if err != nil {
					return err
				}
				if !current.Imported() && !forged {
					fmt.Fprintln(env.Stdout, "The store already uses the embedded catalog; nothing was changed.")
					return nil
				}
				diff := core.DiffCatalogs(current, core.DefaultCatalog(), b.Service().List())
				for _, l := range diff.Lines() {
					fmt.Fprintf(env.Stdout, "  - %s\n", l)
				}
				if !yes {
					if !env.confirm("Go back to the embedded catalog?") {
						fmt.Fprintln(env.Stdout, "Not reset; the catalog is unchanged.")
						return nil
					}
				}
				if err := b.ResetCatalog(); err != nil {
					return err
				}
				fmt.Fprintln(env.Stdout, "The store uses the embedded catalog again.")
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&yes, "yes", false, "reset without asking (for scripts)")
	return cmd
}

// storeCatalog returns the catalog commands check against: the --catalog
// file, else the store's (imported or embedded) when a store exists, else
// the embedded one. Unlike loadCatalog it may open the store.
func storeCatalog(env *Env) (*core.Catalog, error) {
	if env.CatalogFile != "" || env.Demo {
		return loadCatalog(env)
	}
	if env.StoreURL == "" {
		dir := env.DataDir
		if dir == "" {
			d, err := workspace.DefaultDir()
			if err != nil {
				return core.DefaultCatalog(), nil
			}
			dir = d
		}
		if ok, err := workspace.FolderExists(dir); err != nil || !ok {
			return core.DefaultCatalog(), nil
		}
	}
	var cat *core.Catalog
	err := withWorkspace(env, func(b *workspace.Workspace) error {
		cat = b.Service().Catalog()
		return nil
	})
	return cat, err
}

// withCatalogWorkspace opens the store as withWorkspace does, but with the
// embedded catalog, so that import and reset also work when the stored
// catalog fails its signature check.
func withCatalogWorkspace(env *Env, fn func(b *workspace.Workspace) error) (err error) {
	opts := env.Options()
	opts.SkipStoredCatalog = true
	b, err := workspace.Open(opts)
	if err != nil {
		return asBadInput(err)
	}
	defer func() {
		if cerr := b.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close the data folder: %w", cerr)
		}
	}()
	return fn(b)
}

// currentCatalog is the store's catalog, checked; a forged one is reported
// and treated as the embedded one, which the import or reset replaces.
func currentCatalog(env *Env, b *workspace.Workspace) (*core.Catalog, error) {
	c, err := b.StoredCatalog()
	if errors.Is(err, core.ErrCatalogForged) {
		fmt.Fprintln(env.Stderr, "keydesk: note: "+workspace.Advice(err))
		return core.DefaultCatalog(), nil
	}
	return c, err
}
