// Package assets embeds Keydesk's static files: the default permission
// catalog, the application icon and the e-mail templates.
package assets

import _ "embed"

// CatalogJSON is the default permission catalog (sections, operations,
// scopes) in the format core.ParseCatalog reads.
//
//go:embed catalog.json
var CatalogJSON []byte
