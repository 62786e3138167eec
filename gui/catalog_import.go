package gui

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/apicatalog"
	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/gui/widgets"
	"github.com/keydesk/keydesk/workspace"
)

// catalogFlow is File → Import API Catalog… and Reset to the Built-in
// Catalog… (issue #20): the documents are read and the new catalog built
// off the UI goroutine, a preview shows what changes (the keys each change
// widens or leaves naming missing operations, named) and nothing changes
// until Import or Reset is pressed. The window then opens the store again,
// so the new catalog is the one in use.
type catalogFlow struct {
	s   *session
	env *uiEnv

	// chooser and preview are the dialogs last shown (tests drive them).
	chooser *catalogChooser
	preview *catalogPreview
}

func newCatalogFlow(s *session, env *uiEnv) *catalogFlow {
	return &catalogFlow{s: s, env: env}
}

// menuItems are the File menu's catalog items.
func (f *catalogFlow) menuItems() []*fyne.MenuItem {
	return []*fyne.MenuItem{
		fyne.NewMenuItemSeparator(),
		fyne.NewMenuItem("Import API Catalog…", f.showChooser),
		fyne.NewMenuItem("Reset to the Built-in Catalog…", f.previewReset),
	}
}

// catalogChooser asks for the documents: files (one a line, or chosen
// with Choose File…) and URLs.
type catalogChooser struct {
	dlg     *dialog.CustomDialog
	sources *widgets.EscEntry
	msg     *widget.Label
	preview *widgets.EscButton
	cancel  context.CancelFunc
}

func (f *catalogFlow) showChooser() {
	c := &catalogChooser{}
	f.chooser = c
	c.sources = f.env.entry()
	c.sources.MultiLine = true
	c.sources.Wrapping = fyne.TextWrap(fyne.TextTruncateClip)
	c.sources.SetPlaceHolder("/path/to/openapi.yaml\nhttps://example.com/openapi.json")
	c.sources.SetMinRowsVisible(4)
	c.msg = newFieldMessage()
	choose := f.env.button("Choose File…", nil, func() {
		fd := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
			path, ok := chosenPath(r, err)
			if !ok {
				return
			}
			text := strings.TrimRight(c.sources.Text, "\n")
			if text != "" {
				text += "\n"
			}
			c.sources.SetText(text + path)
		}, f.env.win)
		fd.SetFilter(storage.NewExtensionFileFilter([]string{".yaml", ".yml", ".json"}))
		fd.Show()
	})
	intro := widget.NewLabel("OpenAPI 3.0 or 3.1, or Swagger 2.0, in JSON or YAML: one file or URL a line " +
		"(URLs must be HTTPS, or http://localhost). Several documents make one catalog. " +
		"Nothing changes before you have seen what the import changes.")
	intro.Wrapping = fyne.TextWrapWord
	body := container.NewVBox(intro, boldLabel("Documents"), c.sources, container.NewHBox(choose), c.msg)
	c.preview = f.env.button("Preview", nil, func() { f.loadPreview(c) })
	c.preview.Importance = widget.HighImportance
	cancel := f.env.button("Cancel", nil, func() {
		if c.cancel != nil {
			c.cancel()
		}
		c.dlg.Hide()
	})
	c.dlg = dialog.NewCustomWithoutButtons("Import API Catalog", body, f.env.win)
	c.dlg.SetButtons([]fyne.CanvasObject{cancel, c.preview})
	c.dlg.Resize(fyne.NewSize(min(640, f.env.win.Canvas().Size().Width-40), 0))
	c.dlg.SetOnClosed(f.env.onEscape(cancel.OnTapped))
	c.dlg.Show()
}

// loadPreview reads the documents and builds the catalog off the UI
// goroutine, then shows the preview (or the reason, under the field).
func (f *catalogFlow) loadPreview(c *catalogChooser) {
	var sources []string
	for line := range strings.SplitSeq(c.sources.Text, "\n") {
		if s := strings.TrimSpace(line); s != "" {
			sources = append(sources, s)
		}
	}
	if len(sources) == 0 {
		setMessage(c.msg, "Give at least one file or URL.", widget.DangerImportance)
		return
	}
	ws := f.s.workspace()
	if ws == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.preview.Disable()
	setMessage(c.msg, "Reading the documents…", widget.MediumImportance)
	f.env.bg.run(func() func() {
		defer cancel()
		p, err := buildImport(ctx, ws, sources)
		return func() {
			c.preview.Enable()
			c.cancel = nil
			if ctx.Err() != nil && err != nil {
				return // cancelled
			}
			if err != nil {
				setMessage(c.msg, msgSentence(err), widget.DangerImportance)
				return
			}
			setMessage(c.msg, "", widget.MediumImportance)
			c.dlg.Hide()
			f.showPreview(p)
		}
	})
}

// catalogChange is a previewed change: the documents (none for a reset),
// the new catalog and what changes.
type catalogChange struct {
	docs  []*apicatalog.Document
	next  *core.Catalog
	diff  *core.CatalogDiff
	reset bool
}

// currentCatalog is the store's catalog, checked; a forged one is treated
// as the built-in one, which the import or reset replaces.
func currentCatalog(ws *workspace.Workspace) (*core.Catalog, error) {
	c, err := ws.StoredCatalog()
	if errors.Is(err, core.ErrCatalogForged) {
		return core.DefaultCatalog(), nil
	}
	return c, err
}

// buildImport reads sources and builds the catalog they make over ws's
// current one, with the diff naming ws's keys. It runs off the UI
// goroutine.
func buildImport(ctx context.Context, ws *workspace.Workspace, sources []string) (*catalogChange, error) {
	var docs []*apicatalog.Document
	for _, src := range sources {
		d, err := apicatalog.Load(ctx, src, apicatalog.Options{})
		if err != nil {
			return nil, err
		}
		docs = append(docs, d)
	}
	current, err := currentCatalog(ws)
	if err != nil {
		return nil, err
	}
	next, err := apicatalog.Build(docs, current)
	if err != nil {
		return nil, err
	}
	return &catalogChange{docs: docs, next: next, diff: core.DiffCatalogs(current, next, ws.Service().List())}, nil
}

// previewReset shows what going back to the built-in catalog changes.
func (f *catalogFlow) previewReset() {
	ws := f.s.workspace()
	if ws == nil {
		return
	}
	f.env.bg.run(func() func() {
		_, serr := ws.StoredCatalog()
		forged := errors.Is(serr, core.ErrCatalogForged)
		current, err := currentCatalog(ws)
		var p *catalogChange
		if err == nil {
			next := core.DefaultCatalog()
			p = &catalogChange{next: next, diff: core.DiffCatalogs(current, next, ws.Service().List()), reset: true}
		}
		return func() {
			switch {
			case err != nil:
				f.env.showErrorDialog("Catalog not read", "The store's catalog could not be read", err)
			case !current.Imported() && !forged:
				f.env.showInfo("Built-in catalog", "The store already uses the built-in catalog; there is nothing to reset.")
			default:
				f.showPreview(p)
			}
		}
	})
}

// catalogPreview shows a change before it is made.
type catalogPreview struct {
	dlg    *dialog.CustomDialog
	lines  []string
	apply  *widgets.EscButton
	change *catalogChange
}

func (f *catalogFlow) showPreview(c *catalogChange) {
	p := &catalogPreview{change: c, lines: c.diff.Lines()}
	f.preview = p
	var rows []fyne.CanvasObject
	title, action := "Import API Catalog", "Import"
	if c.reset {
		title, action = "Reset to the Built-in Catalog", "Reset"
		rows = append(rows, wrapLabel("Keys are created and checked against the built-in catalog again."))
	} else {
		rows = append(rows, boldLabel("Documents"))
		for _, d := range c.docs {
			rows = append(rows, wrapLabel(fmt.Sprintf("%s %s (%s, %s, sha256 %s…)",
				d.Title, d.Version, specLabel(d.SpecVersion), d.Source, d.Digest[:12])))
		}
	}
	rows = append(rows, wrapLabel(fmt.Sprintf("The new catalog: %d sections, %d operations.", len(c.next.Sections), c.next.OperationCount())))
	rows = append(rows, boldLabel("What changes"))
	if c.diff.Empty() {
		rows = append(rows, wrapLabel("Nothing changes."))
	}
	keyChanges := len(c.diff.Widened)
	if len(c.diff.Orphaned) > 0 {
		keyChanges++
	}
	for i, l := range p.lines {
		lbl := wrapLabel("• " + l)
		if i < keyChanges {
			// The keys' changes come first: they are the security event.
			lbl.Importance = widget.WarningImportance
		}
		rows = append(rows, lbl)
	}
	scroll := container.NewVScroll(container.NewVBox(rows...))
	p.apply = f.env.button(action, nil, func() {
		p.dlg.Hide()
		f.applyChange(c)
	})
	p.apply.Importance = widget.HighImportance
	if len(c.diff.Widened) > 0 {
		p.apply.Importance = widget.DangerImportance
	}
	cancel := f.env.button("Cancel", nil, func() { p.dlg.Hide() })
	p.dlg = dialog.NewCustomWithoutButtons(title, scroll, f.env.win)
	p.dlg.SetButtons([]fyne.CanvasObject{cancel, p.apply})
	size := f.env.win.Canvas().Size()
	p.dlg.Resize(fyne.NewSize(min(760, size.Width-40), min(520, size.Height-40)))
	p.dlg.SetOnClosed(f.env.onEscape(p.dlg.Hide))
	p.dlg.Show()
}

func wrapLabel(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.Wrapping = fyne.TextWrapWord
	return l
}

func specLabel(v string) string {
	if v == "2.0" {
		return "Swagger 2.0"
	}
	return "OpenAPI " + v
}

// applyChange imports (or resets) the catalog, then opens the store again
// so that the service, the screens and the verification API use it.
func (f *catalogFlow) applyChange(c *catalogChange) {
	ws := f.s.workspace()
	if ws == nil {
		return
	}
	f.s.w.SetMainMenu(nil)
	f.s.w.SetContent(switchingPlaceholder())
	f.env.bg.run(func() func() {
		var err error
		if c.reset {
			err = ws.ResetCatalog()
		} else {
			err = ws.ImportCatalog(c.next)
		}
		f.s.suspend()
		reopen := f.s.resume()
		return func() {
			reopen()
			if err != nil {
				f.env.showErrorDialog("Catalog not changed", "The catalog was not changed", err)
			}
		}
	})
}

// switchingPlaceholder is the window's content while the store opens
// again with its new catalog.
func switchingPlaceholder() fyne.CanvasObject {
	bar := widget.NewProgressBarInfinite()
	label := widget.NewLabel("Switching to the new catalog…")
	label.Alignment = fyne.TextAlignCenter
	return container.NewCenter(container.NewVBox(label, container.NewGridWrap(fyne.NewSize(240, bar.MinSize().Height), bar)))
}
