// Package openapigen generates large OpenAPI 3.0 documents for tests and
// benchmarks: GitHub-sized catalogs without committing a 13 MB file.
package openapigen

import (
	"encoding/json"
	"fmt"
)

// Tags is how many tags (sections) a generated document has.
const Tags = 47

// Document returns an OpenAPI 3.0 JSON document with n operations spread
// over Tags tags, under the base path /api/v3, with a bearer scheme, path
// and query parameters with examples and request bodies with schemas.
// Operation i is "op-<tag>-<i>"; its path is
// /t<tag>/r<i/4>/{id}/..., four methods per path.
func Document(n int) []byte {
	paths := map[string]map[string]any{}
	methods := []string{"get", "post", "put", "delete"}
	tags := make([]any, Tags)
	for t := range Tags {
		tags[t] = map[string]any{"name": fmt.Sprintf("Area %d", t), "description": fmt.Sprintf("Operations of area %d.", t)}
	}
	for i := range n {
		tag := i % Tags
		path := fmt.Sprintf("/t%d/r%d/{id}", tag, i/4)
		if i%3 == 0 {
			path = fmt.Sprintf("/t%d/r%d", tag, i/4)
		}
		m := methods[i%4]
		op := map[string]any{
			"operationId": fmt.Sprintf("op-%d-%d", tag, i),
			"summary":     fmt.Sprintf("Operation %d of area %d on resource %d", i, tag, i/4),
			"tags":        []string{fmt.Sprintf("Area %d", tag)},
			"parameters": []any{
				map[string]any{"name": "limit", "in": "query", "schema": map[string]any{"type": "integer", "example": 10}},
			},
			"responses": map[string]any{"200": map[string]any{"description": "OK",
				"content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Item"}}}}},
		}
		if m == "post" || m == "put" {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{
				"schema": map[string]any{"$ref": "#/components/schemas/Item"}}}}
		}
		if paths[path] == nil {
			paths[path] = map[string]any{}
			if i%3 != 0 {
				paths[path]["parameters"] = []any{map[string]any{"name": "id", "in": "path", "required": true,
					"schema": map[string]any{"type": "string", "example": "abc"}}}
			}
		}
		for paths[path][m] != nil {
			path += "/x"
			if paths[path] == nil {
				paths[path] = map[string]any{}
				if i%3 != 0 {
					paths[path]["parameters"] = []any{map[string]any{"name": "id", "in": "path", "required": true,
						"schema": map[string]any{"type": "string", "example": "abc"}}}
				}
			}
		}
		paths[path][m] = op
	}
	doc := map[string]any{
		"openapi": "3.0.3",
		"info":    map[string]any{"title": "Generated API", "version": "1.0.0"},
		"servers": []any{map[string]any{"url": "https://{region}.api.example.com/api/v3",
			"variables": map[string]any{"region": map[string]any{"default": "eu"}}}},
		"security": []any{map[string]any{"bearer": []any{}}},
		"tags":     tags,
		"paths":    paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}},
			"schemas": map[string]any{"Item": map[string]any{"type": "object", "properties": map[string]any{
				"name": map[string]any{"type": "string", "example": "widget"},
				"size": map[string]any{"type": "integer", "example": 3},
			}}},
		},
	}
	out, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	return out
}
