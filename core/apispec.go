package core

import (
	"encoding/json"
	"fmt"
	"strings"
)

// API is one imported OpenAPI or Swagger document: what the catalog needs
// to show where its operations came from and to send real requests.
type API struct {
	// ID names the API within the catalog ("blockfrost-api").
	ID      string `json:"id"`
	Title   string `json:"title"`
	Version string `json:"version"`
	// Source is the file or URL it was imported from; Digest the SHA-256
	// of its bytes, in hex.
	Source string `json:"source"`
	Digest string `json:"digest"`
	// Servers are the document's server URLs with their variables filled
	// in from their defaults; the first is the default for requests.
	Servers []string `json:"servers,omitempty"`
	// BasePath is the path of the first server URL ("/api/v0"), which
	// prefixes every route of this API.
	BasePath string `json:"basePath,omitempty"`
	// Schemes are the document's security schemes by name.
	Schemes map[string]*SecurityScheme `json:"schemes,omitempty"`
}

// SecurityScheme says where a key goes in a request.
type SecurityScheme struct {
	// Type is "http", "apiKey", "oauth2" or "openIdConnect".
	Type string `json:"type"`
	// Scheme is the HTTP scheme for Type "http" ("bearer", "basic").
	Scheme string `json:"scheme,omitempty"`
	// In and Name place an apiKey: In is "header", "query" or "cookie".
	In   string `json:"in,omitempty"`
	Name string `json:"name,omitempty"`
}

// SecurityRequirement is one scheme an operation accepts and the scopes
// the document lists for it.
type SecurityRequirement struct {
	Scheme string   `json:"scheme"`
	Scopes []string `json:"scopes,omitempty"`
}

// RequestSpec is how to send an imported operation.
type RequestSpec struct {
	// API is the id of the API (document) the operation belongs to.
	API string `json:"api"`
	// Template is the document's path template, without the base path.
	Template string `json:"template"`
	// Params are the path, query and header parameters.
	Params []Param `json:"params,omitempty"`
	// BodyType is the request body's media type; BodyExample its example
	// (from the schema), for POST, PUT and PATCH.
	BodyType     string          `json:"bodyType,omitempty"`
	BodyExample  json.RawMessage `json:"bodyExample,omitempty"`
	BodyRequired bool            `json:"bodyRequired,omitempty"`
	// Security lists the schemes the operation accepts, any one of them
	// (the document's alternatives, flattened), with their scopes.
	Security []SecurityRequirement `json:"security,omitempty"`
}

// Param is one parameter of an imported operation.
type Param struct {
	Name        string `json:"name"`
	In          string `json:"in"` // "path", "query" or "header"
	Required    bool   `json:"required,omitempty"`
	Example     string `json:"example,omitempty"`
	Description string `json:"description,omitempty"`
}

// API returns the imported API with the given id.
func (c *Catalog) API(id string) (*API, bool) {
	for _, a := range c.APIs {
		if a.ID == id {
			return a, true
		}
	}
	return nil, false
}

// Imported reports whether the catalog came from OpenAPI documents.
func (c *Catalog) Imported() bool { return len(c.APIs) > 0 }

// DocumentScopes returns the scopes the document lists for the operation
// (beside Keydesk's section scopes), each once, in order.
func (o *Operation) DocumentScopes() []string {
	if o.Request == nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, r := range o.Request.Security {
		for _, s := range r.Scopes {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	return out
}

// indexAPIs checks the imported part of the catalog: unique API ids, and
// every operation's request naming a known API and known schemes.
func (c *Catalog) indexAPIs() error {
	apis := map[string]*API{}
	for i, a := range c.APIs {
		if a == nil || strings.TrimSpace(a.ID) == "" {
			return catalogErr("api %d has no id", i+1)
		}
		if apis[a.ID] != nil {
			return catalogErr("duplicate api id %q", a.ID)
		}
		apis[a.ID] = a
	}
	for _, s := range c.Sections {
		for _, o := range s.Operations {
			if o.Request == nil {
				continue
			}
			a := apis[o.Request.API]
			if a == nil {
				return catalogErr("operation %q names unknown api %q", o.ID, o.Request.API)
			}
			for _, r := range o.Request.Security {
				if a.Schemes[r.Scheme] == nil {
					return catalogErr("operation %q names unknown security scheme %q", o.ID, r.Scheme)
				}
			}
		}
	}
	return nil
}

func catalogErr(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCatalog}, a...)...)
}
