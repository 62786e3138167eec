package core

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/keydesk/keydesk/assets"
)

// GlobalScope is the scope of Global Development Access: every operation.
const GlobalScope = "*:*"

// ErrCatalog is wrapped by every catalog validation error.
var ErrCatalog = errors.New("invalid catalog")

// Catalog is the set of API sections, their operations and the scopes that
// allow them. Build one with ParseCatalog, LoadCatalogFile or DefaultCatalog;
// a Catalog is read-only after that and safe for concurrent use.
type Catalog struct {
	Version     string     `json:"catalogVersion"`
	GlobalScope string     `json:"globalScope"`
	Sections    []*Section `json:"sections"`
	// APIs are the documents an imported catalog came from (see
	// apispec.go); empty for the embedded catalog and --catalog files.
	APIs []*API `json:"apis,omitempty"`
	// Retired lists the section ids and operation scopes of earlier
	// imports that are no longer in the catalog. A re-import never gives
	// them out again, so a key naming them stays orphaned, never revived.
	Retired []string `json:"retired,omitempty"`

	sections map[string]*Section
	ops      map[string]*Operation
	byScope  map[string][]*Operation
	routes   routeIndex
}

// Section is a group of operations (Messaging, Users, PBX API, ...).
type Section struct {
	ID              string       `json:"id"`
	Title           string       `json:"title"`
	Description     string       `json:"description,omitempty"`
	Source          string       `json:"source,omitempty"`
	BaseURL         string       `json:"baseUrl,omitempty"`
	ReadOnlyScope   string       `json:"readOnlyScope"`
	FullAccessScope string       `json:"fullAccessScope"`
	Operations      []*Operation `json:"operations"`
}

// Operation is one API call. Its first scope is the one granted when the
// operation is picked on the "Specific by Operation" tab.
type Operation struct {
	ID         string   `json:"id"`
	Method     string   `json:"method"`
	Path       string   `json:"path"`
	Name       string   `json:"operation,omitempty"`
	Summary    string   `json:"summary"`
	ReadOnly   bool     `json:"readOnly"`
	Scopes     []string `json:"scopes"`
	Confidence string   `json:"confidence,omitempty"`
	// Request says how to send the operation, for imported catalogs.
	Request *RequestSpec `json:"request,omitempty"`

	// SectionID is the id of the section holding the operation, set on load.
	SectionID string `json:"-"`
	search    string
}

// Title returns the operation's display name: its name, else its summary.
func (o *Operation) Title() string {
	if o.Name != "" {
		return o.Name
	}
	return o.Summary
}

// Scope returns the scope granted when the operation is picked on its own.
func (o *Operation) Scope() string { return o.Scopes[0] }

// PathParams returns the names of the {placeholders} in the operation's path.
func (o *Operation) PathParams() []string {
	var out []string
	for _, seg := range strings.Split(o.Path, "/") {
		if len(seg) > 2 && seg[0] == '{' && seg[len(seg)-1] == '}' {
			out = append(out, seg[1:len(seg)-1])
		}
	}
	return out
}

var (
	scopePattern   = regexp.MustCompile(`^[a-z][a-z0-9-]*:(\*|read|[A-Za-z][A-Za-z0-9]*)$`)
	idPattern      = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	methodPatterns = map[string]bool{"GET": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "HEAD": true, "OPTIONS": true}
)

// ParseCatalog reads a catalog from JSON and validates it: unique section and
// operation ids, well-formed scopes that belong to their section, methods and
// paths. Errors wrap ErrCatalog and name the offending item.
func ParseCatalog(data []byte) (*Catalog, error) {
	var c Catalog
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%w: not valid JSON: %v", ErrCatalog, err)
	}
	if err := c.index(); err != nil {
		return nil, err
	}
	return &c, nil
}

// LoadCatalogFile reads and validates a user-supplied catalog file.
func LoadCatalogFile(path string) (*Catalog, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read catalog: %w", err)
	}
	c, err := ParseCatalog(data)
	if err != nil {
		return nil, fmt.Errorf("catalog %s: %w", path, err)
	}
	return c, nil
}

var defaultCatalog = sync.OnceValue(func() *Catalog {
	c, err := ParseCatalog(assets.CatalogJSON)
	if err != nil {
		panic("embedded catalog: " + err.Error())
	}
	return c
})

// DefaultCatalog returns the catalog embedded in the binary.
func DefaultCatalog() *Catalog { return defaultCatalog() }

func (c *Catalog) index() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrCatalog}, a...)...)
	}
	if c.GlobalScope == "" {
		c.GlobalScope = GlobalScope
	}
	if c.GlobalScope != GlobalScope {
		return bad("globalScope must be %q", GlobalScope)
	}
	if len(c.Sections) == 0 {
		return bad("no sections")
	}
	c.sections = make(map[string]*Section)
	c.ops = make(map[string]*Operation)
	c.byScope = make(map[string][]*Operation)
	sectionIDs := make(map[string]bool)
	for _, s := range c.Sections {
		if s != nil {
			sectionIDs[s.ID] = true
		}
	}
	nsOwner := make(map[string]string)
	for i, s := range c.Sections {
		if s == nil || !idPattern.MatchString(s.ID) {
			return bad("section %d has a missing or malformed id", i+1)
		}
		if _, dup := c.sections[s.ID]; dup {
			return bad("duplicate section id %q", s.ID)
		}
		if strings.TrimSpace(s.Title) == "" {
			return bad("section %q has no title", s.ID)
		}
		if s.ReadOnlyScope != s.ID+":read" {
			return bad("section %q: readOnlyScope must be %q", s.ID, s.ID+":read")
		}
		if s.FullAccessScope != s.ID+":*" {
			return bad("section %q: fullAccessScope must be %q", s.ID, s.ID+":*")
		}
		c.sections[s.ID] = s
		for j, o := range s.Operations {
			if o == nil || strings.TrimSpace(o.ID) == "" {
				return bad("section %q: operation %d has no id", s.ID, j+1)
			}
			if _, dup := c.ops[o.ID]; dup {
				return bad("duplicate operation id %q", o.ID)
			}
			o.Method = strings.ToUpper(o.Method)
			if !methodPatterns[o.Method] {
				return bad("operation %q: unknown method %q", o.ID, o.Method)
			}
			if !strings.HasPrefix(o.Path, "/") {
				return bad("operation %q: path must start with /", o.ID)
			}
			if len(o.Scopes) == 0 {
				return bad("operation %q has no scopes", o.ID)
			}
			for _, sc := range o.Scopes {
				if !scopePattern.MatchString(sc) {
					return bad("operation %q: malformed scope %q", o.ID, sc)
				}
				// A scope's namespace is its section's id or a sub-resource
				// namespace used by that section only (pbx has callcontrol:*).
				ns, _, _ := strings.Cut(sc, ":")
				if owner, seen := nsOwner[ns]; seen && owner != s.ID || ns != s.ID && sectionIDs[ns] {
					return bad("operation %q: scope %q belongs to section %q, not %q", o.ID, sc, ns, s.ID)
				}
				nsOwner[ns] = s.ID
				if sc == s.ReadOnlyScope && !o.ReadOnly {
					return bad("operation %q is not read-only but lists %q", o.ID, sc)
				}
			}
			if o.ReadOnly && !slices.Contains(o.Scopes, s.ReadOnlyScope) {
				o.Scopes = append(o.Scopes, s.ReadOnlyScope)
			}
			o.SectionID = s.ID
			o.search = strings.ToLower(strings.Join([]string{o.ID, o.Name, o.Summary, o.Method, o.Path, s.Title}, "\x00"))
			c.ops[o.ID] = o
			for _, sc := range o.Scopes {
				c.byScope[sc] = append(c.byScope[sc], o)
			}
			c.routes.add(newRoute(o))
		}
	}
	return c.indexAPIs()
}

// Section returns the section with the given id.
func (c *Catalog) Section(id string) (*Section, bool) {
	s, ok := c.sections[id]
	return s, ok
}

// Operation returns the operation with the given id.
func (c *Catalog) Operation(id string) (*Operation, bool) {
	o, ok := c.ops[id]
	return o, ok
}

// OperationCount returns the number of operations in the catalog.
func (c *Catalog) OperationCount() int { return len(c.ops) }

// Search returns the operations whose id, name, summary, method, path or
// section title contain every word of query (case-insensitive), in catalog
// order. An empty query returns every operation.
func (c *Catalog) Search(query string) []*Operation {
	words := strings.Fields(strings.ToLower(query))
	var out []*Operation
	for _, s := range c.Sections {
		for _, o := range s.Operations {
			if matchesAll(o.search, words) {
				out = append(out, o)
			}
		}
	}
	return out
}

func matchesAll(text string, words []string) bool {
	for _, w := range words {
		if !strings.Contains(text, w) {
			return false
		}
	}
	return true
}

// ScopeInfo explains one scope string for people: which section it belongs
// to and which operations it allows.
type ScopeInfo struct {
	Scope   string
	Section string // section title, or "All sections" for the global scope
	Access  string // "Every operation", "Full access", "Read-only" or the operation's title
}

// Describe explains a scope with its section and operation titles.
func (c *Catalog) Describe(scope string) ScopeInfo {
	info := ScopeInfo{Scope: scope, Section: "Unknown section", Access: "Unknown scope"}
	if scope == GlobalScope {
		info.Section, info.Access = "All sections", "Every operation (Global Development Access)"
		return info
	}
	secID, rest, _ := strings.Cut(scope, ":")
	ops := c.byScope[scope]
	if s, ok := c.sections[secID]; ok {
		info.Section = s.Title
	} else if len(ops) > 0 {
		info.Section = c.sections[ops[0].SectionID].Title
	}
	switch {
	case rest == "*" && secID != "" && c.sections[secID] != nil:
		info.Access = "Full access"
	case rest == "read" && c.sections[secID] != nil:
		info.Access = "Read-only"
	case len(ops) == 1:
		info.Access = ops[0].Title()
	case len(ops) > 1:
		info.Access = fmt.Sprintf("%s (%d operations)", secID+":"+rest, len(ops))
	}
	return info
}
