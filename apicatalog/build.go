package apicatalog

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/keydesk/keydesk/core"
)

// The vendor extensions that override the mapping, on an operation.
const (
	ExtSection  = "x-keydesk-section"
	ExtID       = "x-keydesk-id"
	ExtReadOnly = "x-keydesk-read-only"
)

// methods in the order operations of one path are listed.
var methods = []string{"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"}

// Build maps docs into one catalog. previous is the catalog in use (nil
// for none): an operation it has keeps its scope, and the sections and
// operation scopes it had or retired are never given to anything else, so
// a key naming a vanished operation is never revived or widened by a
// re-import.
func Build(docs []*Document, previous *core.Catalog) (*core.Catalog, error) {
	if len(docs) == 0 {
		return nil, ErrNoSource
	}
	b := &builder{
		sections: map[string]*core.Section{},
		opSource: map[string]string{},
		scopeOp:  map[string]string{},
		retired:  map[string]bool{},
		prev:     previous,
	}
	if previous != nil {
		b.prevScope = map[string]string{}
		for _, o := range previous.Search("") {
			b.prevScope[o.Scope()] = o.ID
		}
		for _, r := range previous.Retired {
			b.retired[r] = true
		}
	}
	for _, d := range docs {
		if err := b.add(d); err != nil {
			return nil, err
		}
	}
	c := &core.Catalog{GlobalScope: core.GlobalScope, APIs: b.apis}
	for _, id := range b.order {
		if s := b.sections[id]; len(s.Operations) > 0 {
			c.Sections = append(c.Sections, s)
		}
	}
	c.Version = b.version(docs)
	c.Retired = b.retire(c)
	// Round-trip through the parser: the catalog is validated and indexed
	// exactly as it will be when read back from the store.
	raw, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("build catalog: %w", err)
	}
	out, err := core.ParseCatalog(raw)
	if err != nil {
		return nil, fmt.Errorf("build catalog: %w", err)
	}
	return out, nil
}

type builder struct {
	sections map[string]*core.Section
	order    []string
	apis     []*core.API
	opSource map[string]string // op id -> "source: METHOD path"
	scopeOp  map[string]string // op scope -> op id
	retired  map[string]bool
	prev     *core.Catalog
	// prevScope maps the previous catalog's operation scopes to their ids.
	prevScope map[string]string
}

func (b *builder) version(docs []*Document) string {
	h := sha256.New()
	for _, d := range docs {
		h.Write([]byte(d.Digest))
	}
	return "openapi-" + hex.EncodeToString(h.Sum(nil))[:12]
}

// retire returns the previous catalog's retired names plus its sections and
// operation scopes that c no longer has.
func (b *builder) retire(c *core.Catalog) []string {
	set := map[string]bool{}
	for r := range b.retired {
		set[r] = true
	}
	if b.prev != nil {
		for _, s := range b.prev.Sections {
			if b.sections[s.ID] == nil {
				set[s.ID] = true
			}
			for _, o := range s.Operations {
				if _, ok := b.scopeOp[o.Scope()]; !ok {
					set[o.Scope()] = true
				}
			}
		}
	}
	return slices.Sorted(maps.Keys(set))
}

func (b *builder) add(d *Document) error {
	doc := d.doc
	api := &core.API{ID: b.apiID(d.Title), Title: d.Title, Version: d.Version, Source: d.Source, Digest: d.Digest,
		Schemes: map[string]*core.SecurityScheme{}}
	for _, s := range doc.Servers {
		if s == nil {
			continue
		}
		api.Servers = append(api.Servers, serverURL(s))
	}
	if len(api.Servers) > 0 {
		if u, err := url.Parse(api.Servers[0]); err == nil {
			api.BasePath = strings.TrimRight(u.Path, "/")
		}
	}
	if doc.Components != nil {
		for name, ref := range doc.Components.SecuritySchemes {
			if ref == nil || ref.Value == nil {
				continue
			}
			v := ref.Value
			api.Schemes[name] = &core.SecurityScheme{Type: v.Type, Scheme: strings.ToLower(v.Scheme), In: v.In, Name: v.Name}
		}
	}
	tags := map[string]*openapi3.Tag{}
	for _, t := range doc.Tags {
		if t != nil {
			tags[t.Name] = t
		}
	}
	b.apis = append(b.apis, api)
	// Sections in the order the document declares its tags, then in the
	// order operations name them (sections left empty are dropped).
	for _, t := range doc.Tags {
		if t != nil && t.Name != "" {
			title := t.Name
			if dn, ok, _ := extString(t.Extensions, "x-displayName"); ok {
				title = dn
			}
			b.section(slug(title, "api"), title, strings.TrimSpace(t.Description), api)
		}
	}
	n := 0
	if doc.Paths != nil {
		paths := doc.Paths.Keys()
		sort.Strings(paths)
		for _, path := range paths {
			item := doc.Paths.Value(path)
			if item == nil {
				continue
			}
			for _, m := range methods {
				op := item.GetOperation(m)
				if op == nil {
					continue
				}
				if err := b.addOperation(d, api, tags, path, m, item, op); err != nil {
					return err
				}
				n++
			}
		}
	}
	if n == 0 {
		return fmt.Errorf("%s has %w", d.Source, ErrNoOperations)
	}
	return nil
}

func (b *builder) apiID(title string) string {
	base := slug(title, "api")
	id := base
	for i := 2; slices.ContainsFunc(b.apis, func(a *core.API) bool { return a.ID == id }); i++ {
		id = base + "-" + strconv.Itoa(i)
	}
	return id
}

// serverURL fills a server's variables with their defaults.
func serverURL(s *openapi3.Server) string {
	u := s.URL
	for name, v := range s.Variables {
		if v != nil {
			u = strings.ReplaceAll(u, "{"+name+"}", v.Default)
		}
	}
	return strings.TrimRight(u, "/")
}

func (b *builder) addOperation(d *Document, api *core.API, tags map[string]*openapi3.Tag, path, method string, item *openapi3.PathItem, op *openapi3.Operation) error {
	where := fmt.Sprintf("%s %s in %s", method, path, d.Source)
	// The operation id: x-keydesk-id, operationId, else method and path.
	id := strings.TrimSpace(op.OperationID)
	if x, ok, err := extString(op.Extensions, ExtID); err != nil {
		return fmt.Errorf("%s: %w: %v", where, ErrUnknownSection, err)
	} else if ok {
		id = x
	}
	if id == "" {
		id = strings.ToLower(method) + "-" + slug(path, "root")
	}
	if prev, dup := b.opSource[id]; dup {
		return fmt.Errorf("%w: %q is %s and %s (set x-keydesk-id on one)", ErrDuplicateID, id, prev, where)
	}
	b.opSource[id] = where

	// The section: x-keydesk-section, the first tag, else the first
	// literal path segment.
	title, desc := "", ""
	if x, ok, err := extString(op.Extensions, ExtSection); err != nil {
		return fmt.Errorf("%s: %w: %v", where, ErrUnknownSection, err)
	} else if ok {
		title = x
	} else if len(op.Tags) > 0 {
		title = op.Tags[0]
	} else {
		title = firstSegment(path)
	}
	if t := tags[title]; t != nil {
		desc = strings.TrimSpace(t.Description)
		if dn, ok, _ := extString(t.Extensions, "x-displayName"); ok {
			title = dn
		}
	}
	sec := b.section(slug(title, "api"), title, desc, api)

	readOnly := method == "GET" || method == "HEAD" || method == "OPTIONS"
	if v, ok := op.Extensions[ExtReadOnly]; ok {
		bv, isBool := v.(bool)
		if !isBool {
			return fmt.Errorf("%s: %w: %s must be true or false", where, ErrUnknownSection, ExtReadOnly)
		}
		readOnly = bv
	}
	summary := strings.TrimSpace(op.Summary)
	if summary == "" {
		summary, _, _ = strings.Cut(strings.TrimSpace(op.Description), "\n")
	}
	o := &core.Operation{
		ID:       id,
		Method:   method,
		Path:     api.BasePath + path,
		Summary:  summary,
		ReadOnly: readOnly,
		Request:  requestSpec(api, path, method, item, op, d.doc),
	}
	scope, err := b.scope(sec.ID, id, where)
	if err != nil {
		return err
	}
	o.Scopes = []string{scope}
	sec.Operations = append(sec.Operations, o)
	return nil
}

// section returns the section with id, creating it; an id the previous
// catalog retired gets a suffix, so no old key's section scope revives.
func (b *builder) section(id, title, desc string, api *core.API) *core.Section {
	if s := b.sections[id]; s != nil {
		return s
	}
	base := id
	for i := 2; b.retired[id]; i++ {
		id = base + "-" + strconv.Itoa(i)
		if s := b.sections[id]; s != nil {
			return s
		}
	}
	s := &core.Section{ID: id, Title: title, Description: desc, Source: api.Title, BaseURL: first(api.Servers),
		ReadOnlyScope: id + ":read", FullAccessScope: id + ":*"}
	b.sections[base] = s
	if base != id {
		b.sections[id] = s
	}
	b.order = append(b.order, id)
	return s
}

// scope returns the operation's own scope: the previous catalog's when the
// operation was there in the same section, else section:CamelCaseId,
// never one the previous catalog retired or another operation holds.
func (b *builder) scope(secID, opID, where string) (string, error) {
	if b.prev != nil {
		if o, ok := b.prev.Operation(opID); ok && o.SectionID == secID {
			if s := o.Scope(); b.scopeOp[s] == "" {
				b.scopeOp[s] = opID
				return s, nil
			}
		}
	}
	name := scopeName(opID)
	s := secID + ":" + name
	for i := 2; b.retired[s] || b.claimedByPrev(s, opID); i++ {
		s = secID + ":" + name + strconv.Itoa(i)
	}
	if other := b.scopeOp[s]; other != "" {
		return "", fmt.Errorf("%w: %q (%s) and %q would share the scope %s (set x-keydesk-id on one)", ErrDuplicateID, opID, where, other, s)
	}
	b.scopeOp[s] = opID
	return s, nil
}

// claimedByPrev reports whether the previous catalog gives scope s to
// another operation than opID (which may keep its scope later in this
// import).
func (b *builder) claimedByPrev(s, opID string) bool {
	owner, ok := b.prevScope[s]
	return ok && owner != opID
}

func first(s []string) string {
	if len(s) > 0 {
		return s[0]
	}
	return ""
}

func extString(ext map[string]any, name string) (string, bool, error) {
	v, ok := ext[name]
	if !ok {
		return "", false, nil
	}
	s, isStr := v.(string)
	if !isStr || strings.TrimSpace(s) == "" {
		return "", false, fmt.Errorf("%s must be a non-empty string", name)
	}
	return strings.TrimSpace(s), true, nil
}

// firstSegment returns the first literal segment of a path template.
func firstSegment(path string) string {
	for _, seg := range strings.Split(path, "/") {
		if seg != "" && !strings.HasPrefix(seg, "{") {
			return seg
		}
	}
	return "api"
}

// slug makes a section or API id: lower-case letters, digits and dashes,
// starting with a letter.
func slug(s, fallback string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		default:
			dash = true
		}
	}
	out := b.String()
	if out == "" {
		return fallback
	}
	if out[0] < 'a' || out[0] > 'z' {
		out = fallback + "-" + out
	}
	return out
}

// scopeName turns an operation id into the name part of a scope
// (section:Name): its letters and digits in camel case, starting with a
// letter, never "read".
func scopeName(id string) string {
	var b strings.Builder
	upper := false
	for _, r := range id {
		if r >= unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsDigit(r)) {
			upper = b.Len() > 0
			continue
		}
		if upper {
			r = unicode.ToUpper(r)
			upper = false
		}
		b.WriteRune(r)
	}
	s := b.String()
	if s == "" || !unicode.IsLetter(rune(s[0])) {
		s = "op" + s
	}
	if s == "read" {
		s = "readOp"
	}
	return s
}
