package gui

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/core"
)

// sectionInfo is a section's text in the create dialog's Sections tab: its
// title, the first line of its description (an imported document's tag
// description), and its operations and scopes.
func sectionInfo(s *core.Section) string {
	text := s.Title
	if d := firstLine(s.Description); d != "" {
		text += " — " + d
	}
	return fmt.Sprintf("%s\n%d operations · %s, %s", text, len(s.Operations), s.ReadOnlyScope, s.FullAccessScope)
}

// opLabel is an operation's check label in the create dialog's Operations
// tab; an imported operation shows the scopes its document lists for it
// beside Keydesk's (the guide: "for each operation that uses API Key
// authentication, you can view the list of applicable scopes").
func opLabel(op *core.Operation) string {
	label := op.Method + " " + op.Path + " — " + op.Title()
	if ds := op.DocumentScopes(); len(ds) > 0 {
		label += " · document scopes: " + strings.Join(ds, ", ")
	}
	return label
}

// notInCatalogBadge is the keys table's mark for a key whose scopes or
// operations name nothing in the catalog in use (issued under an earlier
// catalog): it stays as issued, and those scopes allow nothing.
const notInCatalogBadge = "Not in catalog"

// unknownScopesTip lists a key's scopes that the catalog does not know.
func unknownScopesTip(cat *core.Catalog, scopes, unknown []string) fyne.CanvasObject {
	note := widget.NewLabel(fmt.Sprintf("Not in the catalog (they allow nothing): %s", strings.Join(unknown, ", ")))
	note.Importance = widget.WarningImportance
	return container.NewVBox(scopesTip(cat, scopes), note)
}
