package assets

import _ "embed"

// Icon is the application icon: a 512×512 PNG of a gold key on an
// indigo-to-teal rounded square, drawn by cmd/icongen (make icon).
//
//go:embed icon.png
var Icon []byte
