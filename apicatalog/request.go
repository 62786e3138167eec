package apicatalog

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/keydesk/keydesk/core"
)

// maxExampleDepth bounds the example built from a schema.
const maxExampleDepth = 6

// requestSpec collects what sending the operation needs: its parameters
// with the document's examples, the body's example and the security
// schemes it accepts.
func requestSpec(api *core.API, path, method string, item *openapi3.PathItem, op *openapi3.Operation, doc *openapi3.T) *core.RequestSpec {
	r := &core.RequestSpec{API: api.ID, Template: path}
	seen := map[string]int{}
	addParams := func(params openapi3.Parameters) {
		for _, ref := range params {
			if ref == nil || ref.Value == nil {
				continue
			}
			p := ref.Value
			if p.In != "path" && p.In != "query" && p.In != "header" {
				continue
			}
			cp := core.Param{Name: p.Name, In: p.In, Required: p.Required || p.In == "path",
				Example: paramExample(p), Description: firstLine(p.Description)}
			k := p.In + "\x00" + p.Name
			if i, ok := seen[k]; ok {
				r.Params[i] = cp // the operation's own overrides the path item's
				continue
			}
			seen[k] = len(r.Params)
			r.Params = append(r.Params, cp)
		}
	}
	addParams(item.Parameters)
	addParams(op.Parameters)
	if op.RequestBody != nil && op.RequestBody.Value != nil && (method == "POST" || method == "PUT" || method == "PATCH") {
		body := op.RequestBody.Value
		r.BodyRequired = body.Required
		mt, media := jsonMedia(body.Content)
		if media != nil {
			r.BodyType = mt
			if ex := mediaExample(media); ex != nil {
				if raw, err := json.Marshal(ex); err == nil {
					r.BodyExample = raw
				}
			}
		}
	}
	sec := doc.Security
	if op.Security != nil {
		sec = *op.Security
	}
	for _, req := range sec {
		for _, name := range slices.Sorted(maps.Keys(req)) {
			if _, ok := api.Schemes[name]; !ok {
				continue
			}
			r.Security = append(r.Security, core.SecurityRequirement{Scheme: name, Scopes: req[name]})
		}
	}
	return r
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// jsonMedia picks the JSON media type of a body, else the first.
func jsonMedia(c openapi3.Content) (string, *openapi3.MediaType) {
	if len(c) == 0 {
		return "", nil
	}
	keys := slices.Sorted(maps.Keys(c))
	for _, k := range keys {
		if strings.Contains(k, "json") {
			return k, c[k]
		}
	}
	return keys[0], c[keys[0]]
}

func mediaExample(m *openapi3.MediaType) any {
	if m.Example != nil {
		return m.Example
	}
	if ex := firstExample(m.Examples); ex != nil {
		return ex
	}
	if m.Schema != nil {
		return schemaExample(m.Schema, 0)
	}
	return nil
}

func firstExample(ex openapi3.Examples) any {
	for _, n := range slices.Sorted(maps.Keys(ex)) {
		if e := ex[n]; e != nil && e.Value != nil && e.Value.Value != nil {
			return e.Value.Value
		}
	}
	return nil
}

func paramExample(p *openapi3.Parameter) string {
	var v any
	switch {
	case p.Example != nil:
		v = p.Example
	case firstExample(p.Examples) != nil:
		v = firstExample(p.Examples)
	case p.Schema != nil && p.Schema.Value != nil:
		s := p.Schema.Value
		switch {
		case s.Example != nil:
			v = s.Example
		case len(s.Examples) > 0:
			v = s.Examples[0]
		case s.Default != nil:
			v = s.Default
		case len(s.Enum) > 0:
			v = s.Enum[0]
		}
	}
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64, bool, int, int64:
		return fmt.Sprint(x)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(raw)
}

// schemaExample builds an example value from a schema: its example,
// default or first enum value, else one made from its type.
func schemaExample(ref *openapi3.SchemaRef, depth int) any {
	if ref == nil || ref.Value == nil || depth > maxExampleDepth {
		return nil
	}
	s := ref.Value
	switch {
	case s.Example != nil:
		return s.Example
	case len(s.Examples) > 0:
		return s.Examples[0]
	case s.Default != nil:
		return s.Default
	case len(s.Enum) > 0:
		return s.Enum[0]
	}
	if len(s.AllOf) > 0 {
		out := map[string]any{}
		for _, sub := range s.AllOf {
			if m, ok := schemaExample(sub, depth+1).(map[string]any); ok {
				for k, v := range m {
					out[k] = v
				}
			}
		}
		return out
	}
	for _, alts := range []openapi3.SchemaRefs{s.OneOf, s.AnyOf} {
		if len(alts) > 0 {
			return schemaExample(alts[0], depth+1)
		}
	}
	switch {
	case s.Type.Is("object") || len(s.Properties) > 0:
		out := map[string]any{}
		for name, p := range s.Properties {
			if p != nil && p.Value != nil && p.Value.ReadOnly {
				continue
			}
			out[name] = schemaExample(p, depth+1)
		}
		return out
	case s.Type.Is("array"):
		if v := schemaExample(s.Items, depth+1); v != nil {
			return []any{v}
		}
		return []any{}
	case s.Type.Is("integer"), s.Type.Is("number"):
		return 0
	case s.Type.Is("boolean"):
		return false
	case s.Type.Is("string"):
		return ""
	}
	return nil
}
