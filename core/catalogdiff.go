package core

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// CatalogDiff is what replacing one catalog by another changes: sections
// and operations added, removed or moved, read-only changes, and the keys
// that the new catalog lets do more (Widened) or that name operations or
// sections it no longer has (Orphaned). The import preview shows it before
// anything changes.
type CatalogDiff struct {
	SectionsAdded   []SectionRef    `json:"sectionsAdded,omitempty"`
	SectionsRemoved []SectionRef    `json:"sectionsRemoved,omitempty"`
	OpsAdded        []OperationRef  `json:"operationsAdded,omitempty"`
	OpsRemoved      []OperationRef  `json:"operationsRemoved,omitempty"`
	OpsMoved        []OperationMove `json:"operationsMoved,omitempty"`
	ReadOnlyChanged []OperationRef  `json:"readOnlyChanged,omitempty"`
	Widened         []Widening      `json:"widened,omitempty"`
	Orphaned        []Orphan        `json:"orphaned,omitempty"`
}

// SectionRef names a section.
type SectionRef struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// OperationRef names an operation and, for ReadOnlyChanged, whether it is
// read-only in the new catalog.
type OperationRef struct {
	ID       string `json:"id"`
	Section  string `json:"section"`
	Method   string `json:"method"`
	Path     string `json:"path"`
	ReadOnly bool   `json:"readOnly"`
}

// OperationMove is an operation that changed section.
type OperationMove struct {
	ID   string `json:"id"`
	From string `json:"from"`
	To   string `json:"to"`
}

// KeyRef names a key.
type KeyRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// String is "Name (3f2a…)".
func (k KeyRef) String() string {
	id := k.ID
	if len(id) > 4 {
		id = id[:4] + "…"
	}
	return fmt.Sprintf("%s (%s)", k.Name, id)
}

// Widening is a scope held by existing keys that the new catalog lets call
// operations it did not allow before.
type Widening struct {
	Scope      string   `json:"scope"`
	Label      string   `json:"label"` // "Issues · full access"
	Operations []string `json:"operations"`
	Keys       []KeyRef `json:"keys"`
}

// Orphan is a key whose scopes name operations or sections the new
// catalog does not have. It stays as issued and allows nothing through
// them.
type Orphan struct {
	Key     KeyRef   `json:"key"`
	Missing []string `json:"missing"`
}

// Empty reports whether the diff changes nothing.
func (d *CatalogDiff) Empty() bool {
	return len(d.SectionsAdded)+len(d.SectionsRemoved)+len(d.OpsAdded)+len(d.OpsRemoved)+
		len(d.OpsMoved)+len(d.ReadOnlyChanged)+len(d.Widened)+len(d.Orphaned) == 0
}

// Lines returns the diff as sentences for the command line and the
// window's import preview, the keys' changes first.
func (d *CatalogDiff) Lines() []string {
	var out []string
	for _, w := range d.Widened {
		out = append(out, fmt.Sprintf("%s with %s will also be allowed: %s: %s",
			plural(len(w.Keys), "key", "keys"), w.Label, strings.Join(w.Operations, ", "), keyList(w.Keys)))
	}
	if len(d.Orphaned) > 0 {
		var names []string
		for _, o := range d.Orphaned {
			names = append(names, fmt.Sprintf("%s [%s]", o.Key, strings.Join(o.Missing, ", ")))
		}
		verb := "name operations that no longer exist (they stay as issued and allow nothing through them)"
		if len(d.Orphaned) == 1 {
			verb = "names operations that no longer exist (it stays as issued and allows nothing through them)"
		}
		out = append(out, fmt.Sprintf("%s %s: %s", plural(len(d.Orphaned), "key", "keys"), verb, strings.Join(names, ", ")))
	}
	sec := func(verb string, refs []SectionRef) {
		if len(refs) == 0 {
			return
		}
		var s []string
		for _, r := range refs {
			s = append(s, fmt.Sprintf("%s (%s)", r.Title, r.ID))
		}
		out = append(out, fmt.Sprintf("%s %s: %s", plural(len(refs), "section", "sections"), verb, strings.Join(s, ", ")))
	}
	ops := func(verb string, refs []OperationRef) {
		if len(refs) == 0 {
			return
		}
		var s []string
		for _, r := range refs {
			s = append(s, r.ID)
		}
		out = append(out, fmt.Sprintf("%s %s: %s", plural(len(refs), "operation", "operations"), verb, abbreviate(s, 20)))
	}
	sec("added", d.SectionsAdded)
	sec("removed", d.SectionsRemoved)
	ops("added", d.OpsAdded)
	ops("removed", d.OpsRemoved)
	if len(d.OpsMoved) > 0 {
		var s []string
		for _, m := range d.OpsMoved {
			s = append(s, fmt.Sprintf("%s (%s → %s)", m.ID, m.From, m.To))
		}
		out = append(out, fmt.Sprintf("%s moved: %s", plural(len(s), "operation", "operations"), abbreviate(s, 20)))
	}
	if len(d.ReadOnlyChanged) > 0 {
		var s []string
		for _, r := range d.ReadOnlyChanged {
			state := "now read-only"
			if !r.ReadOnly {
				state = "no longer read-only"
			}
			s = append(s, fmt.Sprintf("%s (%s)", r.ID, state))
		}
		out = append(out, fmt.Sprintf("%s changed read-only: %s", plural(len(s), "operation", "operations"), abbreviate(s, 20)))
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func keyList(keys []KeyRef) string {
	s := make([]string, len(keys))
	for i, k := range keys {
		s[i] = k.String()
	}
	return abbreviate(s, 10)
}

func abbreviate(s []string, n int) string {
	if len(s) <= n {
		return strings.Join(s, ", ")
	}
	return strings.Join(s[:n], ", ") + fmt.Sprintf(", and %d more", len(s)-n)
}

// DiffCatalogs compares old and new and names the keys each change
// affects.
func DiffCatalogs(old, new *Catalog, keys []*Key) *CatalogDiff {
	d := &CatalogDiff{}
	for _, s := range new.Sections {
		if _, ok := old.sections[s.ID]; !ok {
			d.SectionsAdded = append(d.SectionsAdded, SectionRef{s.ID, s.Title})
		}
	}
	for _, s := range old.Sections {
		if _, ok := new.sections[s.ID]; !ok {
			d.SectionsRemoved = append(d.SectionsRemoved, SectionRef{s.ID, s.Title})
		}
	}
	ref := func(o *Operation) OperationRef {
		return OperationRef{ID: o.ID, Section: o.SectionID, Method: o.Method, Path: o.Path, ReadOnly: o.ReadOnly}
	}
	for _, s := range new.Sections {
		for _, o := range s.Operations {
			was, ok := old.ops[o.ID]
			switch {
			case !ok:
				d.OpsAdded = append(d.OpsAdded, ref(o))
			default:
				if was.SectionID != o.SectionID {
					d.OpsMoved = append(d.OpsMoved, OperationMove{o.ID, was.SectionID, o.SectionID})
				}
				if was.ReadOnly != o.ReadOnly {
					d.ReadOnlyChanged = append(d.ReadOnlyChanged, ref(o))
				}
			}
		}
	}
	for _, s := range old.Sections {
		for _, o := range s.Operations {
			if _, ok := new.ops[o.ID]; !ok {
				d.OpsRemoved = append(d.OpsRemoved, ref(o))
			}
		}
	}
	d.Widened = widenings(old, new, keys)
	for _, k := range keys {
		if missing := new.UnknownScopes(k); len(missing) > 0 {
			d.Orphaned = append(d.Orphaned, Orphan{Key: KeyRef{k.ID, k.Name}, Missing: missing})
		}
	}
	return d
}

// widenings finds, for every scope held by a key (except *:*, which allows
// everything in any catalog), the operations of new it allows that it did
// not allow in old.
func widenings(old, new *Catalog, keys []*Key) []Widening {
	holders := map[string][]KeyRef{}
	for _, k := range keys {
		for _, s := range k.Scopes {
			if s != GlobalScope {
				holders[s] = append(holders[s], KeyRef{k.ID, k.Name})
			}
		}
	}
	var out []Widening
	for _, s := range slices.Sorted(maps.Keys(holders)) {
		held := []string{s}
		var gained []string
		for _, sec := range new.Sections {
			for _, o := range sec.Operations {
				if !Allows(held, o, sec) {
					continue
				}
				if was, ok := old.ops[o.ID]; ok && Allows(held, was, old.sections[was.SectionID]) {
					continue
				}
				gained = append(gained, o.ID)
			}
		}
		if len(gained) == 0 {
			continue
		}
		info := new.Describe(s)
		label := info.Section + " · " + strings.ToLower(info.Access)
		if info.Access != "Full access" && info.Access != "Read-only" {
			label = s
		}
		keys := holders[s]
		slices.SortFunc(keys, func(a, b KeyRef) int { return strings.Compare(a.Name, b.Name) })
		out = append(out, Widening{Scope: s, Label: label, Operations: gained, Keys: keys})
	}
	return out
}

// UnknownScopes returns the scopes of k, and the operation ids of its
// permissions, that name nothing in c: a key issued under an earlier
// catalog whose operations or sections are gone. Such a key stays as
// issued; those scopes allow nothing.
func (c *Catalog) UnknownScopes(k *Key) []string {
	var out []string
	for _, s := range k.Scopes {
		if s == GlobalScope || len(c.byScope[s]) > 0 {
			continue
		}
		ns, rest, _ := strings.Cut(s, ":")
		if sec, ok := c.sections[ns]; ok && (rest == "*" && s == sec.FullAccessScope || rest == "read" && s == sec.ReadOnlyScope) {
			continue
		}
		out = append(out, s)
	}
	if k.Permissions.Kind == KindOperations {
		for _, id := range k.Permissions.Operations {
			if _, ok := c.ops[id]; !ok {
				out = append(out, id)
			}
		}
	}
	return out
}
