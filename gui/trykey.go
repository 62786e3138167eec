package gui

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/workspace"
)

// tryKeyService is what the Try a key view needs: the verification the API
// performs and the catalog of operations. *core.Service implements it.
type tryKeyService interface {
	Verify(secret string, t core.Target) core.Verification
	Catalog() *core.Catalog
}

// tryKeyView is the guide's "Usage example": pick an operation, fill its
// path parameters, paste a key into Token and see the response the API
// would give (200, 401 or 403, with the reason).
type tryKeyView struct {
	widget.BaseWidget

	svc tryKeyService
	win fyne.Window
	loc *time.Location
	bg  runner

	ops      []*core.Operation
	selected *core.Operation

	search  *widget.Entry
	opList  *widget.List
	opMsg   *widget.Label
	opTitle *widget.Label
	opInfo  *widget.Label

	params     *fyne.Container
	paramNames []string
	paramEntry map[string]*widget.Entry
	paramMsg   map[string]*widget.Label

	token    *widget.Entry
	tokenMsg *widget.Label
	send     *widget.Button

	requestLine *widget.Label
	authLine    *widget.Label
	status      *widget.Label
	reason      *widget.Label
	keyInfo     *widget.Form
	keyName     *widget.Label
	keyID       *widget.Label
	keyScopes   *widget.Label
	keyExpires  *widget.Label
	result      *fyne.Container

	// req is Send API Request, for operations of an imported API.
	req *requestPanel
	// intro heads the screen: what is and is not sent.
	intro *widget.Label
}

// newTryKeyView returns the Try a key view over svc; w parents its dialogs
// and bg runs its verifications.
func newTryKeyView(svc tryKeyService, w fyne.Window, bg runner) *tryKeyView {
	v := &tryKeyView{svc: svc, win: w, loc: time.Local, bg: bg,
		paramEntry: map[string]*widget.Entry{}, paramMsg: map[string]*widget.Label{}}
	v.ExtendBaseWidget(v)

	v.ops = svc.Catalog().Search("")
	v.search = widget.NewEntry()
	v.search.SetPlaceHolder("Search operations: name, path, method, section…")
	v.search.OnChanged = v.filter

	v.opList = widget.NewList(
		func() int { return len(v.ops) },
		func() fyne.CanvasObject {
			route := widget.NewLabel("GET /path")
			route.TextStyle = fyne.TextStyle{Monospace: true}
			route.Truncation = fyne.TextTruncateEllipsis
			name := widget.NewLabel("Operation · Section")
			name.Truncation = fyne.TextTruncateEllipsis
			return container.NewVBox(route, name)
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			if id >= len(v.ops) {
				return
			}
			op := v.ops[id]
			box := o.(*fyne.Container)
			box.Objects[0].(*widget.Label).SetText(op.Method + " " + op.Path)
			box.Objects[1].(*widget.Label).SetText(op.Title() + " · " + v.sectionTitle(op))
		})
	v.opList.OnSelected = func(id widget.ListItemID) {
		if id < len(v.ops) {
			v.selectOperation(v.ops[id])
		}
	}
	v.opMsg = newFieldMessage()

	v.opTitle = widget.NewLabel("No operation selected")
	v.opTitle.TextStyle = fyne.TextStyle{Bold: true, Monospace: true}
	v.opTitle.Wrapping = fyne.TextWrapBreak
	v.opInfo = widget.NewLabel("Pick an operation from the list.")
	v.opInfo.Wrapping = fyne.TextWrapWord
	v.params = container.NewVBox()

	v.token = widget.NewPasswordEntry()
	v.token.SetPlaceHolder("kdk_…")
	v.token.OnSubmitted = func(string) { v.Send() }
	v.token.OnChanged = func(string) { setMessage(v.tokenMsg, "", widget.DangerImportance) }
	v.tokenMsg = newFieldMessage()
	v.send = widget.NewButton("Check the key", v.Send)
	v.send.Importance = widget.HighImportance

	v.requestLine = widget.NewLabel("")
	v.requestLine.TextStyle = fyne.TextStyle{Monospace: true}
	v.requestLine.Wrapping = fyne.TextWrapBreak
	v.authLine = widget.NewLabel("")
	v.authLine.TextStyle = fyne.TextStyle{Monospace: true}
	v.status = widget.NewLabel("")
	v.status.TextStyle = fyne.TextStyle{Bold: true}
	v.reason = widget.NewLabel("")
	v.reason.Wrapping = fyne.TextWrapWord
	v.keyName, v.keyID, v.keyScopes, v.keyExpires = widget.NewLabel(""), widget.NewLabel(""), widget.NewLabel(""), widget.NewLabel("")
	v.keyScopes.Wrapping = fyne.TextWrapWord
	v.keyID.TextStyle = fyne.TextStyle{Monospace: true}
	v.keyInfo = widget.NewForm(
		widget.NewFormItem("Name", v.keyName),
		widget.NewFormItem("ID", v.keyID),
		widget.NewFormItem("Scopes", v.keyScopes),
		widget.NewFormItem("Expires", v.keyExpires),
	)
	v.result = container.NewVBox(
		widget.NewSeparator(),
		boldLabel("The request it stands for (not sent)"),
		v.requestLine, v.authLine,
		boldLabel("The answer the API would give"),
		v.status, v.reason, v.keyInfo,
	)
	v.result.Hide()
	v.req = newRequestPanel(svc.Catalog, func() fyne.Window { return v.win }, bg, func() string { return v.token.Text })
	v.req.relayout = v.Refresh
	return v
}

// CreateRenderer lays the view out: the operation picker on the left, the
// request form and the response on the right.
func (v *tryKeyView) CreateRenderer() fyne.WidgetRenderer {
	left := container.NewBorder(
		container.NewVBox(boldLabel("Operation"), v.search),
		v.opMsg, nil, nil, v.opList)
	v.intro = widget.NewLabel(workspace.TryKeyIntro)
	intro := v.intro
	intro.Wrapping = fyne.TextWrapWord
	right := container.NewVScroll(container.NewVBox(
		intro,
		v.opTitle, v.opInfo, v.params,
		boldLabel("Key"),
		v.token, v.tokenMsg,
		container.NewHBox(v.send),
		v.result,
		v.req.box,
	))
	split := container.NewHSplit(left, right)
	split.Offset = 0.4
	return widget.NewSimpleRenderer(split)
}

func (v *tryKeyView) sectionTitle(op *core.Operation) string {
	if s, ok := v.svc.Catalog().Section(op.SectionID); ok {
		return s.Title
	}
	return op.SectionID
}

// filter narrows the operation list to the search query, keeping the
// selection when the selected operation is still listed.
func (v *tryKeyView) filter(query string) {
	v.ops = v.svc.Catalog().Search(query)
	v.opList.UnselectAll()
	v.opList.Refresh()
	for i, op := range v.ops {
		if op == v.selected {
			v.opList.Select(i)
			break
		}
	}
}

// selectOperation shows op and one entry per path parameter.
func (v *tryKeyView) selectOperation(op *core.Operation) {
	if op == v.selected {
		return
	}
	v.selected = op
	setMessage(v.opMsg, "", widget.DangerImportance)
	v.opTitle.SetText(op.Method + " " + op.Path)
	info := op.Title() + " · " + v.sectionTitle(op) + " · needs " + strings.Join(op.Scopes, " or ")
	v.opInfo.SetText(info)

	old := v.paramEntry
	v.paramNames = op.PathParams()
	v.paramEntry = make(map[string]*widget.Entry, len(v.paramNames))
	v.paramMsg = make(map[string]*widget.Label, len(v.paramNames))
	var rows []fyne.CanvasObject
	for _, name := range v.paramNames {
		e := widget.NewEntry()
		e.SetPlaceHolder(exampleParam(name) + " (an example; any value checks the permission)")
		if prev, ok := old[name]; ok {
			e.SetText(prev.Text)
		}
		e.OnSubmitted = func(string) { v.Send() }
		msg := newFieldMessage()
		e.OnChanged = func(string) { setMessage(msg, "", widget.DangerImportance) }
		v.paramEntry[name], v.paramMsg[name] = e, msg
		rows = append(rows, boldLabel(name), e, msg)
	}
	v.params.Objects = rows
	v.result.Hide()
	v.req.show(op)
	v.Refresh()
}

// Send checks the form and, when it is complete, verifies the token
// against the selected operation off the UI goroutine.
func (v *tryKeyView) Send() {
	ok := true
	if v.selected == nil {
		setMessage(v.opMsg, "Pick an operation from the list.", widget.DangerImportance)
		ok = false
	}
	values := make(map[string]string, len(v.paramNames))
	for _, name := range v.paramNames {
		// The permission does not depend on the path's values: an
		// empty one takes the example shown in the field.
		val := cmp.Or(strings.TrimSpace(v.paramEntry[name].Text), exampleParam(name))
		setMessage(v.paramMsg[name], "", widget.DangerImportance)
		values[name] = val
	}
	secret := strings.TrimSpace(v.token.Text)
	if secret == "" {
		setMessage(v.tokenMsg, "Paste a key to check.", widget.DangerImportance)
		ok = false
	} else {
		setMessage(v.tokenMsg, "", widget.DangerImportance)
	}
	if !ok {
		v.result.Hide()
		v.Refresh()
		return
	}

	op := v.selected
	base := ""
	if s, found := v.svc.Catalog().Section(op.SectionID); found {
		base = strings.TrimRight(s.BaseURL, "/")
	}
	v.requestLine.SetText(op.Method + " " + base + op.FillPath(values))
	v.authLine.SetText("Authorization: Bearer " + tokenHint(secret))
	v.send.Disable()
	svc := v.svc
	v.bg.run(func() func() {
		res := svc.Verify(secret, core.Target{Operation: op})
		return func() {
			v.send.Enable()
			v.showResult(res)
		}
	})
}

// tokenHint is what the view may show of a presented token: the key's hint
// for anything shaped like a key, never the whole value.
func tokenHint(secret string) string {
	if strings.HasPrefix(secret, core.KeyPrefix) && len(secret) > len(core.KeyPrefix)+core.HintLength {
		return core.KeyHint(secret) + "…"
	}
	return "…"
}

// httpStatus is the status the API answers a verification with.
func httpStatus(res core.Verification) (int, string) {
	switch {
	case res.Allowed:
		return 200, "200 OK"
	case res.Reason == core.ReasonForbidden:
		return 403, "403 Forbidden"
	}
	return 401, "401 Unauthorized"
}

func (v *tryKeyView) showResult(res core.Verification) {
	code, text := httpStatus(res)
	v.status.SetText(fmt.Sprintf("%s · %s", text, res.Reason))
	if code == 200 {
		v.status.Importance = widget.SuccessImportance
	} else {
		v.status.Importance = widget.DangerImportance
	}
	v.status.Refresh()
	v.reason.SetText(res.Reason.Explain())
	if k := res.Key; k != nil {
		v.keyName.SetText(k.Name)
		v.keyID.SetText(k.ID)
		v.keyScopes.SetText(strings.Join(k.Scopes, ", "))
		v.keyExpires.SetText(tryKeyTime(k.ExpiresAt, v.loc))
		v.keyInfo.Show()
	} else {
		v.keyInfo.Hide()
	}
	v.result.Show()
	v.Refresh()
}

// tryKeyTime renders t in loc with its zone, and in UTC when loc is not UTC.
func tryKeyTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "—"
	}
	local := t.In(loc).Format("2006-01-02 15:04 MST")
	if _, off := t.In(loc).Zone(); off != 0 {
		local += " (" + t.UTC().Format("15:04 UTC") + ")"
	}
	return local
}

// exampleParam is the value a path parameter takes when left empty.
func exampleParam(name string) string { return "example-" + name }
