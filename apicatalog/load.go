// Package apicatalog turns a company's OpenAPI 3.0/3.1 and Swagger 2.0
// documents (JSON or YAML, files or URLs) into Keydesk's permission
// catalog: Load reads and parses one document, Build maps several into one
// core.Catalog following the rules in the README ("Importing OpenAPI
// documents"). Parsing is github.com/getkin/kin-openapi's.
package apicatalog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v4"

	"github.com/keydesk/keydesk/internal/httpfetch"
)

// MaxDocumentSize bounds every file or URL read, the document and each
// file its $refs name (GitHub's document is 13 MB).
const MaxDocumentSize = 64 << 20

// Errors of a bad document or source; callers branch on them, and each
// error's text is one sentence naming the source.
var (
	ErrNotOpenAPI     = errors.New("not an OpenAPI or Swagger document")
	ErrNewerVersion   = errors.New("a newer OpenAPI version than Keydesk supports")
	ErrUnresolvedRef  = errors.New("a $ref that cannot be resolved")
	ErrDuplicateID    = errors.New("two operations with the same id")
	ErrNoOperations   = errors.New("no operations")
	ErrFetch          = errors.New("cannot be fetched")
	ErrNotHTTPS       = errors.New("not HTTPS")
	ErrTooLarge       = errors.New("too large")
	ErrNoSource       = errors.New("no document given")
	ErrUnknownSection = errors.New("bad x-keydesk extension")
)

// Document is one parsed document and where it came from.
type Document struct {
	// Source is the file name or URL given.
	Source string
	// Digest is the SHA-256 of the document's bytes, in hex.
	Digest string
	// Title and Version are the document's info.title and info.version.
	Title, Version string
	// SpecVersion is "2.0", "3.0.3", "3.1.0"...
	SpecVersion string

	doc *openapi3.T
}

// Options tune Load.
type Options struct {
	// Client fetches URLs; nil means a client with verified TLS and a
	// one-minute timeout.
	Client *http.Client
}

// Load reads and parses the document at source: a file name, or an https://
// URL (http:// only for localhost). Files its $refs name are read the same
// way, relative to it; a document fetched from a URL cannot read local
// files.
func Load(ctx context.Context, source string, opts Options) (*Document, error) {
	if strings.TrimSpace(source) == "" {
		return nil, ErrNoSource
	}
	client := httpfetch.Client(opts.Client, time.Minute, true)
	var (
		data []byte
		loc  *url.URL
		err  error
	)
	remote := isURL(source)
	if remote {
		if loc, err = checkURL(source); err != nil {
			return nil, err
		}
		data, err = fetch(ctx, client, loc)
	} else {
		var abs string
		if abs, err = filepath.Abs(source); err == nil {
			loc = &url.URL{Path: filepath.ToSlash(abs)}
			data, err = readFile(source)
		}
	}
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	d := &Document{Source: source, Digest: hex.EncodeToString(sum[:])}

	ver, err := sniffVersion(data)
	if err != nil {
		return nil, fmt.Errorf("%s is %w: %v", source, ErrNotOpenAPI, err)
	}
	loader := openapi3.NewLoader()
	loader.Context = ctx
	loader.IsExternalRefsAllowed = true
	loader.ReadFromURIFunc = refReader(ctx, client, remote)
	switch {
	case ver.Swagger != "":
		if ver.Swagger != "2.0" {
			return nil, versionError(source, "Swagger "+ver.Swagger)
		}
		d.SpecVersion = "2.0"
		var d2 openapi2.T
		jsonData, err := toJSON(data)
		if err == nil {
			err = json.Unmarshal(jsonData, &d2)
		}
		if err != nil {
			return nil, fmt.Errorf("%s is %w: %v", source, ErrNotOpenAPI, err)
		}
		if d.doc, err = openapi2conv.ToV3WithLoader(&d2, loader, loc); err != nil {
			return nil, refError(source, err)
		}
	case ver.OpenAPI != "":
		major, _, _ := strings.Cut(ver.OpenAPI, ".")
		if major != "3" {
			if major > "3" || len(major) > 1 {
				return nil, versionError(source, "OpenAPI "+ver.OpenAPI)
			}
			return nil, fmt.Errorf("%s is %w: OpenAPI %s is not supported (use 2.0, 3.0 or 3.1)", source, ErrNotOpenAPI, ver.OpenAPI)
		}
		d.SpecVersion = ver.OpenAPI
		if d.doc, err = loader.LoadFromDataWithPath(data, loc); err != nil {
			return nil, refError(source, err)
		}
	default:
		return nil, fmt.Errorf("%s is %w: it has neither an openapi nor a swagger field", source, ErrNotOpenAPI)
	}
	if d.doc.Info != nil {
		d.Title, d.Version = strings.TrimSpace(d.doc.Info.Title), strings.TrimSpace(d.doc.Info.Version)
	}
	if d.Title == "" {
		d.Title = source
	}
	return d, nil
}

func versionError(source, v string) error {
	return fmt.Errorf("%s is %s, %w (2.0, 3.0 and 3.1)", source, v, ErrNewerVersion)
}

// refError explains a loader failure: an unresolvable $ref, or a document
// that does not parse as OpenAPI.
func refError(source string, err error) error {
	var tooLarge *sizeError
	if errors.As(err, &tooLarge) {
		return fmt.Errorf("%s: %w", source, err)
	}
	msg := err.Error()
	if strings.Contains(msg, "$ref") || strings.Contains(msg, "ref ") || strings.Contains(msg, "resolv") || strings.Contains(msg, "refs") {
		return fmt.Errorf("%s has %w: %v", source, ErrUnresolvedRef, err)
	}
	return fmt.Errorf("%s is %w: %v", source, ErrNotOpenAPI, err)
}

// versionFields are the two fields that say what a document is.
type versionFields struct {
	OpenAPI string `json:"openapi" yaml:"openapi"`
	Swagger string `json:"swagger" yaml:"swagger"`
}

// sniffVersion reads the openapi or swagger field.
func sniffVersion(data []byte) (versionFields, error) {
	var v versionFields
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		var top map[string]json.RawMessage
		if err := json.Unmarshal(trimmed, &top); err != nil {
			return v, err
		}
		_ = json.Unmarshal(top["openapi"], &v.OpenAPI)
		_ = json.Unmarshal(top["swagger"], &v.Swagger)
		return v, nil
	}
	var top map[string]any
	if err := yaml.Unmarshal(data, &top); err != nil {
		return v, fmt.Errorf("not JSON or YAML")
	}
	if top == nil {
		return v, fmt.Errorf("it is empty")
	}
	v.OpenAPI, v.Swagger = fmt.Sprint(orEmpty(top["openapi"])), fmt.Sprint(orEmpty(top["swagger"]))
	return v, nil
}

func orEmpty(v any) any {
	if v == nil {
		return ""
	}
	return v
}

// toJSON returns data as JSON (YAML is converted).
func toJSON(data []byte) ([]byte, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		return trimmed, nil
	}
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

func isURL(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://") || strings.Contains(l, "://")
}

// checkURL allows https:// URLs, and http:// for localhost only.
func checkURL(s string) (*url.URL, error) {
	u, err := httpfetch.CheckURL(s)
	switch {
	case errors.Is(err, httpfetch.ErrNotAbsolute):
		return nil, fmt.Errorf("%s %w: it is not a valid URL", s, ErrFetch)
	case err != nil:
		return nil, fmt.Errorf("%s is %w: only https:// URLs can be imported (http:// only from localhost)", s, ErrNotHTTPS)
	}
	return u, nil
}

type sizeError struct{ what string }

func (e *sizeError) Error() string {
	return fmt.Sprintf("%s is larger than %d MB", e.what, MaxDocumentSize>>20)
}

// Is makes a sizeError match ErrTooLarge.
func (e *sizeError) Is(target error) bool { return target == ErrTooLarge }

func readLimited(r io.Reader, what string) ([]byte, error) {
	data, truncated, err := httpfetch.ReadLimited(r, MaxDocumentSize)
	if err != nil {
		return nil, err
	}
	if truncated {
		return nil, &sizeError{what}
	}
	return data, nil
}

func readFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("%s cannot be read: %v", name, err)
	}
	defer f.Close()
	data, err := readLimited(f, name)
	if err != nil && !errors.Is(err, ErrTooLarge) {
		return nil, fmt.Errorf("%s cannot be read: %v", name, err)
	}
	return data, err
}

func fetch(ctx context.Context, client *http.Client, u *url.URL) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("%s %w: %v", u.Redacted(), ErrFetch, err)
	}
	req.Header.Set("Accept", "application/json, application/yaml;q=0.9, */*;q=0.5")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %w: %v", u.Redacted(), ErrFetch, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %w: the server answered %s", u.Redacted(), ErrFetch, resp.Status)
	}
	data, err := readLimited(resp.Body, u.Redacted())
	if err != nil && !errors.Is(err, ErrTooLarge) {
		return nil, fmt.Errorf("%s %w: %v", u.Redacted(), ErrFetch, err)
	}
	return data, err
}

// refReader reads the files and URLs that $refs name, with the same
// limits and rules as the document: HTTPS (or localhost) URLs, and local
// files only for a document read from a file.
func refReader(ctx context.Context, client *http.Client, remote bool) openapi3.ReadFromURIFunc {
	return func(_ *openapi3.Loader, u *url.URL) ([]byte, error) {
		if u.Scheme != "" && u.Scheme != "file" {
			cu, err := checkURL(u.String())
			if err != nil {
				return nil, err
			}
			return fetch(ctx, client, cu)
		}
		if remote {
			return nil, fmt.Errorf("%s: a document fetched from a URL cannot refer to local files", u.Path)
		}
		return readFile(filepath.FromSlash(u.Path))
	}
}
