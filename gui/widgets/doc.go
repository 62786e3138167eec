// Package widgets holds Keydesk's generic Fyne widgets, which know nothing
// of keys: a layer of tooltips and the labels that show them, a coloured
// badge, a read-only monospace field, a sortable table header and the
// truncation check that keeps large tables fast; and what every screen
// shares of the look: the app theme (with its readable secondary text
// colour), secondary-text labels, field messages and the scroll bar's
// gutter.
package widgets
