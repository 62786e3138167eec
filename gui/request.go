package gui

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/apirequest"
	"github.com/keydesk/keydesk/core"
)

// requestPanel is Try a key's "Send API Request" (issue #20, the guide's
// usage example): it sends the selected operation of an imported API to
// the API's server with the key from Try a key's Token field, and shows
// the response. It is shown only for operations of an imported document.
// Sending does not count as the key's last use (the upstream's gateway
// counts that).
type requestPanel struct {
	// cat is the catalog in use; win parents the dialogs; bg runs the
	// request; key reads the Token field.
	cat func() *core.Catalog
	win func() fyne.Window
	bg  runner
	key func() string
	// relayout lays the view out again after the panel grew or shrank.
	relayout func()
	// opts are the sender's options (tests give a clock and a client).
	opts apirequest.Options

	op *core.Operation

	box       *fyne.Container
	where     *widget.Label
	server    *widget.Entry
	serverMsg *widget.Label
	params    *fyne.Container
	fields    map[string]*widget.Entry // by "in:name"
	fieldMsg  map[string]*widget.Label
	body      *widget.Entry
	bodyBox   *fyne.Container
	bodyMsg   *widget.Label
	keyMsg    *widget.Label

	send     *widget.Button
	cancelB  *widget.Button
	curl     *widget.Button
	progress *widget.ProgressBarInfinite

	status    *widget.Label
	meta      *widget.Label
	headers   *widget.Label
	respBody  *widget.Label
	truncated *widget.Label
	response  *fyne.Container

	// cancel stops the running request; nil when none runs.
	cancel context.CancelFunc
	// confirm and failure are the dialogs last shown (for tests).
	confirm *confirmDialog
	failure *errorDialog
	// onEscape, when set (the window's uiEnv.onEscape), makes Esc close
	// the panel's dialogs while nothing in them has the focus.
	onEscape func(close func()) (done func())
}

// serverPref is the preference remembering the server chosen for an API.
func serverPref(apiID string) string { return "request.server." + apiID }

func newRequestPanel(cat func() *core.Catalog, win func() fyne.Window, bg runner, key func() string) *requestPanel {
	p := &requestPanel{cat: cat, win: win, bg: bg, key: key, relayout: func() {},
		fields: map[string]*widget.Entry{}, fieldMsg: map[string]*widget.Label{}}
	p.where = widget.NewLabel("")
	p.where.Wrapping = fyne.TextWrapWord
	p.server = widget.NewEntry()
	p.server.SetPlaceHolder("https://api.example.com/v1")
	p.server.OnChanged = func(string) { setMessage(p.serverMsg, "", widget.DangerImportance) }
	p.serverMsg = newFieldMessage()
	p.params = container.NewVBox()
	p.body = widget.NewMultiLineEntry()
	p.body.TextStyle = fyne.TextStyle{Monospace: true}
	p.body.SetMinRowsVisible(5)
	p.body.OnChanged = func(string) { setMessage(p.bodyMsg, "", widget.DangerImportance) }
	p.bodyMsg = newFieldMessage()
	p.bodyBox = container.NewVBox(boldLabel("Body (JSON)"), p.body, p.bodyMsg)
	p.keyMsg = newFieldMessage()

	p.send = widget.NewButton("Send API Request", p.Send)
	p.send.Importance = widget.HighImportance
	p.cancelB = widget.NewButton("Cancel", p.Cancel)
	p.cancelB.Hide()
	p.curl = widget.NewButton("Copy as curl", p.CopyCurl)
	p.progress = widget.NewProgressBarInfinite()
	p.progress.Stop()
	p.progress.Hide()

	p.status = widget.NewLabel("")
	p.status.TextStyle = fyne.TextStyle{Bold: true}
	p.meta = widget.NewLabel("")
	p.headers = widget.NewLabel("")
	p.headers.TextStyle = fyne.TextStyle{Monospace: true}
	p.headers.Wrapping = fyne.TextWrapBreak
	p.headers.Selectable = true
	p.respBody = widget.NewLabel("")
	p.respBody.TextStyle = fyne.TextStyle{Monospace: true}
	p.respBody.Wrapping = fyne.TextWrapBreak
	p.respBody.Selectable = true
	p.truncated = widget.NewLabel("")
	p.truncated.Importance = widget.WarningImportance
	p.truncated.Wrapping = fyne.TextWrapWord
	p.response = container.NewVBox(
		boldLabel("Response"), p.status, p.meta,
		boldLabel("Headers"), p.headers,
		boldLabel("Body"), p.respBody, p.truncated)
	p.response.Hide()

	intro := widget.NewLabel("Unlike Check the key, Send API Request sends a real request over the network, with the key above, to the API's server. " +
		"It does not count as the key's last use.")
	intro.Wrapping = fyne.TextWrapWord
	p.box = container.NewVBox(
		widget.NewSeparator(),
		boldLabel("Send API Request"),
		intro, p.where,
		boldLabel("Server"), p.server, p.serverMsg,
		p.params, p.bodyBox, p.keyMsg,
		container.NewHBox(p.send, p.cancelB, p.curl),
		p.progress,
		p.response,
	)
	p.box.Hide()
	return p
}

// show fills the form for op, or hides the panel when op was not
// imported from an OpenAPI document.
func (p *requestPanel) show(op *core.Operation) {
	p.Cancel()
	p.op = op
	p.response.Hide()
	if op == nil || op.Request == nil {
		p.box.Hide()
		return
	}
	spec := op.Request
	server := ""
	if api, ok := p.cat().API(spec.API); ok {
		if len(api.Servers) > 0 {
			server = api.Servers[0]
		}
		p.where.SetText(fmt.Sprintf("%s %s, from %s %s.", op.Method, spec.Template, api.Title, api.Version))
	}
	if saved := fyne.CurrentApp().Preferences().String(serverPref(spec.API)); saved != "" {
		server = saved
	}
	p.server.SetText(server)
	setMessage(p.serverMsg, "", widget.DangerImportance)
	setMessage(p.keyMsg, "", widget.DangerImportance)

	p.fields = make(map[string]*widget.Entry, len(spec.Params))
	p.fieldMsg = make(map[string]*widget.Label, len(spec.Params))
	var rows []fyne.CanvasObject
	for _, prm := range spec.Params {
		if prm.In != "path" && prm.In != "query" && prm.In != "header" {
			continue
		}
		e := widget.NewEntry()
		e.SetText(prm.Example)
		if prm.Description != "" {
			e.SetPlaceHolder(firstLine(prm.Description))
		}
		msg := newFieldMessage()
		e.OnChanged = func(string) { setMessage(msg, "", widget.DangerImportance) }
		label := prm.Name + " (" + prm.In
		if prm.Required {
			label += ", required"
		}
		p.fields[prm.In+":"+prm.Name], p.fieldMsg[prm.In+":"+prm.Name] = e, msg
		rows = append(rows, boldLabel(label+")"), e, msg)
	}
	p.params.Objects = rows
	p.params.Refresh()

	if hasBody(op.Method) && (spec.BodyType != "" || len(spec.BodyExample) > 0) {
		p.body.SetText(prettyJSON(spec.BodyExample))
		p.bodyBox.Show()
	} else {
		p.body.SetText("")
		p.bodyBox.Hide()
	}
	setMessage(p.bodyMsg, "", widget.DangerImportance)
	p.box.Show()
	p.relayout()
}

func hasBody(method string) bool {
	return method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch
}

// firstLine is the first line of s, for a placeholder.
func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// prettyJSON indents raw JSON, or returns it as it is when it is not JSON.
func prettyJSON(raw []byte) string {
	if len(raw) == 0 {
		return ""
	}
	var b bytes.Buffer
	if json.Indent(&b, raw, "", "  ") != nil {
		return string(raw)
	}
	return b.String()
}

// prepare builds the request from the form, marking the fields at fault;
// nil when the form is not complete.
func (p *requestPanel) prepare() *apirequest.Request {
	if p.op == nil || p.op.Request == nil {
		return nil
	}
	in := apirequest.Input{Params: map[string]string{}, Query: map[string]string{},
		Server: strings.TrimSpace(p.server.Text)}
	ok := true
	for _, prm := range p.op.Request.Params {
		e, found := p.fields[prm.In+":"+prm.Name]
		if !found {
			continue
		}
		val := strings.TrimSpace(e.Text)
		setMessage(p.fieldMsg[prm.In+":"+prm.Name], "", widget.DangerImportance)
		if val == "" {
			if prm.Required {
				setMessage(p.fieldMsg[prm.In+":"+prm.Name], "Fill in "+prm.Name+": the operation needs it.", widget.DangerImportance)
				ok = false
			}
			continue
		}
		if prm.In == "query" {
			in.Query[prm.Name] = val
		} else {
			in.Params[prm.Name] = val
		}
	}
	if p.bodyBox.Visible() {
		if body := strings.TrimSpace(p.body.Text); body != "" {
			if !json.Valid([]byte(body)) {
				setMessage(p.bodyMsg, "The body is not valid JSON.", widget.DangerImportance)
				ok = false
			}
			in.Body = []byte(body)
		}
	}
	if !ok {
		return nil
	}
	req, err := apirequest.Prepare(p.cat(), p.op.ID, in)
	switch {
	case errors.Is(err, apirequest.ErrBadServer):
		setMessage(p.serverMsg, msgSentence(err), widget.DangerImportance)
		return nil
	case errors.Is(err, apirequest.ErrBadBody):
		setMessage(p.bodyMsg, "The body is not valid JSON.", widget.DangerImportance)
		return nil
	case err != nil:
		p.showFailure("The request was not sent", err)
		return nil
	}
	return req
}

// msgSentence is err's text as a sentence, for a field message.
func msgSentence(err error) string {
	s := err.Error()
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// Send checks the form and sends the request off the UI goroutine; a
// request that is not read-only asks first.
func (p *requestPanel) Send() {
	if p.cancel != nil {
		return
	}
	key := strings.TrimSpace(p.key())
	if key == "" {
		setMessage(p.keyMsg, "Paste the key to send the request with into Token above.", widget.DangerImportance)
	} else {
		setMessage(p.keyMsg, "", widget.DangerImportance)
	}
	req := p.prepare()
	if req == nil || key == "" {
		return
	}
	if req.ReadOnly() {
		p.start(req, key)
		return
	}
	p.confirm = newConfirmDialog(p.win(), p.onEscape, "Send a request that changes data?",
		fmt.Sprintf("%s %s is not read-only: the server may change or delete data when it receives it. Send it with this key?",
			req.Method, req.URL.Redacted()),
		func(yes bool) {
			if yes {
				p.start(req, key)
			}
		})
	p.confirm.SetConfirmText("Send")
	p.confirm.Show()
}

// start sends req with key; Cancel stops it.
func (p *requestPanel) start(req *apirequest.Request, key string) {
	if req.Op.Request != nil {
		fyne.CurrentApp().Preferences().SetString(serverPref(req.Op.Request.API), strings.TrimSpace(p.server.Text))
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.send.Disable()
	p.cancelB.Show()
	p.progress.Show()
	p.progress.Start()
	p.response.Hide()
	p.relayout()
	opts := p.opts
	p.bg.run(func() func() {
		resp, err := apirequest.Send(ctx, req, key, opts)
		cancelled := ctx.Err() != nil
		cancel()
		return func() {
			p.finish()
			switch {
			case cancelled:
				p.showCancelled()
			case err != nil:
				p.showFailure("The request got no answer", err)
			default:
				p.showResponse(req, resp)
			}
			p.relayout()
		}
	})
}

// Cancel stops the running request, if any.
func (p *requestPanel) Cancel() {
	if p.cancel != nil {
		p.cancel()
	}
}

func (p *requestPanel) finish() {
	p.cancel = nil
	p.progress.Stop()
	p.progress.Hide()
	p.cancelB.Hide()
	p.send.Enable()
}

func (p *requestPanel) showCancelled() {
	p.status.SetText("Cancelled: the request was stopped before an answer came.")
	p.status.Importance = widget.WarningImportance
	p.status.Refresh()
	p.meta.SetText("")
	p.headers.SetText("")
	p.respBody.SetText("")
	p.truncated.Hide()
	p.response.Show()
}

func (p *requestPanel) showFailure(what string, err error) {
	if p.win() == nil {
		return
	}
	p.failure = newErrorDialog(p.win(), "Request not sent", what, err)
	if p.onEscape != nil {
		p.failure.dlg.SetOnClosed(p.onEscape(p.failure.dlg.Hide))
	}
	p.failure.dlg.Show()
}

func (p *requestPanel) showResponse(req *apirequest.Request, r *apirequest.Response) {
	p.status.SetText(r.StatusText)
	switch {
	case r.Status >= 200 && r.Status < 300:
		p.status.Importance = widget.SuccessImportance
	case r.Status >= 400:
		p.status.Importance = widget.DangerImportance
	default:
		p.status.Importance = widget.MediumImportance
	}
	p.status.Refresh()
	meta := fmt.Sprintf("Answered in %s", r.Duration.Round(time.Millisecond))
	if r.ContentType != "" {
		meta += " · " + r.ContentType
	}
	meta += " · the key went in " + req.KeyLocation()
	p.meta.SetText(meta)
	p.headers.SetText(strings.Join(apirequest.HeaderLines(r.Header), "\n"))
	body := string(r.Body)
	if body == "" {
		body = "(empty)"
	}
	p.respBody.SetText(body)
	if r.Truncated {
		p.truncated.SetText(fmt.Sprintf("The answer is longer than %d KiB: only its first %d KiB are shown.",
			apirequest.MaxResponse>>10, apirequest.MaxResponse>>10))
		p.truncated.Show()
	} else {
		p.truncated.Hide()
	}
	p.response.Show()
}

// CopyCurl copies the request as a curl command line, the key masked as
// $KEYDESK_KEY.
func (p *requestPanel) CopyCurl() {
	if req := p.prepare(); req != nil {
		fyne.CurrentApp().Clipboard().SetContent(req.Curl())
	}
}
