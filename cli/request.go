package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keydesk/keydesk/apicatalog"
	"github.com/keydesk/keydesk/apirequest"
)

const requestUsage = "keydesk request OPERATION_ID [--param NAME=VALUE]... [--query NAME=VALUE]... [--body JSON|@FILE] [--server URL] [--json] [--yes] [--curl]"

// newRequestCommand is `keydesk request`: the guide's "Send API Request".
func newRequestCommand(env *Env) *cobra.Command {
	var params, queries []string
	var data, server string
	var asJSON, yes, curl bool
	cmd := &cobra.Command{
		Use:   "request OPERATION_ID [--param NAME=VALUE]... [--query NAME=VALUE]... [--body JSON|@FILE] [--server URL] [--json]",
		Short: "Send a real request to an imported API with a key",
		Long: "Send operation OPERATION_ID of the imported catalog to its API, with the key read from standard\n" +
			"input (asked without echo on a terminal) and placed where the API's document says (a bearer\n" +
			"header or an API-key header or query parameter). TLS is verified; a request that is not\n" +
			"read-only is confirmed first (--yes from a script). It prints the status, time, headers and\n" +
			"the body (JSON pretty-printed, at most 1 MiB). --curl prints the request as a curl command with\n" +
			"the key left as $KEYDESK_KEY, and sends nothing. This is not a use of the key in Keydesk.",
		Example: "  keydesk request get-pools --query count=5 < key.txt\n  keydesk request get-accounts-stake-address --param stake_address=stake1u9... --curl",
		Args:    exactArgs(1, "request takes one operation id (usage: %s)", requestUsage),
		RunE: func(_ *cobra.Command, args []string) error {
			in := apirequest.Input{Server: server}
			var err error
			if in.Params, err = pairs("--param", params); err != nil {
				return err
			}
			if in.Query, err = pairs("--query", queries); err != nil {
				return err
			}
			if data != "" {
				if in.Body, err = readBody(data); err != nil {
					return err
				}
			}
			cat, err := storeCatalog(env)
			if err != nil {
				return err
			}
			req, err := apirequest.Prepare(cat, args[0], in)
			if err != nil {
				return usagef("%s", strings.TrimSuffix(err.Error(), ".")+".")
			}
			if curl {
				fmt.Fprintln(env.Stdout, req.Curl())
				return nil
			}
			if !req.ReadOnly() && !yes && !env.isTerminal() {
				return usagef("not sending %s %s without confirmation: it is not read-only; pass --yes to send it from a script", req.Method, req.Op.Path)
			}
			key, err := env.readKey("keydesk request " + args[0])
			if err != nil {
				return err
			}
			if !req.ReadOnly() && !yes {
				if !env.confirm(fmt.Sprintf("Send %s %s? It is not read-only.", req.Method, req.URL.Redacted())) {
					fmt.Fprintln(env.Stdout, "Not sent.")
					return nil
				}
			}
			resp, err := apirequest.Send(env.context(), req, key, apirequest.Options{})
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(env.Stdout, responseJSON(req, resp))
			}
			printResponse(env, req, resp)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&params, "param", nil, "a path or header parameter, `NAME=VALUE` (repeatable)")
	f.StringArrayVar(&queries, "query", nil, "a query parameter, `NAME=VALUE` (repeatable)")
	f.StringVar(&data, "body", "", "the JSON body, or @FILE to read it from a file (--data is the global data folder flag)")
	f.StringVar(&server, "server", "", "the server `URL` instead of the document's first (https://, or http:// to localhost)")
	f.BoolVar(&asJSON, "json", false, "print the response as JSON")
	f.BoolVar(&yes, "yes", false, "send a request that is not read-only without asking")
	f.BoolVar(&curl, "curl", false, "print the request as a curl command (the key as $KEYDESK_KEY) and send nothing")
	return cmd
}

func pairs(flag string, list []string) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range list {
		name, value, ok := strings.Cut(p, "=")
		if !ok || strings.TrimSpace(name) == "" {
			return nil, usagef("%s %q is not NAME=VALUE", flag, p)
		}
		out[strings.TrimSpace(name)] = value
	}
	return out, nil
}

// readBody reads --body: JSON, or @FILE (at most the import's size limit).
func readBody(data string) ([]byte, error) {
	body := []byte(data)
	if name, ok := strings.CutPrefix(data, "@"); ok {
		f, err := os.Open(name)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return nil, usagef("cannot read the body file %s: %v", name, err)
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil || st.Size() > apicatalog.MaxDocumentSize {
			return nil, usagef("the body file %s is larger than %d MB", name, apicatalog.MaxDocumentSize>>20)
		}
		if body, err = os.ReadFile(name); err != nil {
			return nil, usagef("cannot read the body file %s: %v", name, err)
		}
	}
	if !json.Valid(body) {
		return nil, usagef("--body is not valid JSON")
	}
	return body, nil
}

type responseOut struct {
	Method    string              `json:"method"`
	URL       string              `json:"url"`
	Status    int                 `json:"status"`
	Text      string              `json:"statusText"`
	TimeMs    int64               `json:"timeMs"`
	Headers   map[string][]string `json:"headers"`
	Body      json.RawMessage     `json:"body,omitempty"`
	BodyText  string              `json:"bodyText,omitempty"`
	Truncated bool                `json:"truncated,omitempty"`
}

func responseJSON(req *apirequest.Request, r *apirequest.Response) responseOut {
	out := responseOut{Method: req.Method, URL: req.URL.String(), Status: r.Status, Text: r.StatusText,
		TimeMs: r.Duration.Milliseconds(), Headers: r.Header, Truncated: r.Truncated}
	if r.JSON {
		out.Body = r.Body
	} else {
		out.BodyText = string(r.Body)
	}
	return out
}

func printResponse(env *Env, req *apirequest.Request, r *apirequest.Response) {
	fmt.Fprintf(env.Stdout, "%s %s\n%s in %d ms\n", req.Method, req.URL.Redacted(), r.StatusText, r.Duration.Milliseconds())
	for _, l := range apirequest.HeaderLines(r.Header) {
		fmt.Fprintln(env.Stdout, l)
	}
	fmt.Fprintln(env.Stdout)
	env.Stdout.Write(r.Body)
	if len(r.Body) > 0 && r.Body[len(r.Body)-1] != '\n' {
		fmt.Fprintln(env.Stdout)
	}
	if r.Truncated {
		fmt.Fprintf(env.Stdout, "(the body was cut at %d KiB)\n", apirequest.MaxResponse>>10)
	}
}
