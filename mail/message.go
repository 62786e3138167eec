package mail

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"io"
	"strings"
	texttemplate "text/template"
	"time"

	gomail "github.com/emersion/go-message/mail"

	"github.com/keydesk/keydesk/assets"
	"github.com/keydesk/keydesk/core"
)

// Time layouts used in messages and previews; every time is shown in UTC.
const (
	SlotLayout   = "2006-01-02 15:04 UTC"
	ExpiryLayout = "2006-01-02 15:04:05 UTC"
)

var (
	textTemplates = texttemplate.Must(texttemplate.New("mail").ParseFS(assets.MailTemplates, "mail/*.txt"))
	htmlTemplates = htmltemplate.Must(htmltemplate.New("mail").ParseFS(assets.MailTemplates, "mail/*.html"))
)

// Message is a built e-mail with its SMTP envelope.
type Message struct {
	// ID is the Message-ID without angle brackets.
	ID string
	// From is the envelope sender (the bare address of Settings.From).
	From string
	// To are the envelope recipients (bare addresses).
	To      []string
	Subject string
	// Data is the whole RFC 5322 message, CRLF line ends.
	Data []byte
}

// DigestMessageID is the Message-ID (without brackets) of the digest for
// slot from the store storeID: the same store and slot always give the same
// id, so a resend after a crash is recognisable as the same message.
func DigestMessageID(storeID string, slot time.Time) string {
	return fmt.Sprintf("digest-%s.%s@keydesk", slot.UTC().Format("20060102T1504Z"), storeID)
}

// KeyLine is one key as a digest lists it. It never holds a secret: the
// hint is the public prefix of the key shown everywhere in Keydesk.
type KeyLine struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Hint      string    `json:"hint"`
	ExpiresAt time.Time `json:"expiresAt"`
	Scopes    int       `json:"scopeCount"`
	// CreatedAt and LastUsedAt (zero if never used) say why an idle key
	// is idle.
	CreatedAt  time.Time `json:"createdAt"`
	LastUsedAt time.Time `json:"lastUsedAt,omitzero"`
}

// LastUse is the key's last use for people: "last used <UTC time>" or
// "never used (created <UTC time>)".
func (k KeyLine) LastUse() string {
	if k.LastUsedAt.IsZero() {
		return "never used (created " + k.CreatedAt.UTC().Format(ExpiryLayout) + ")"
	}
	return "last used " + k.LastUsedAt.UTC().Format(ExpiryLayout)
}

// Expiry is the expiry time for people, in UTC.
func (k KeyLine) Expiry() string { return k.ExpiresAt.UTC().Format(ExpiryLayout) }

// ScopeCount is "1 scope" or "N scopes".
func (k KeyLine) ScopeCount() string {
	if k.Scopes == 1 {
		return "1 scope"
	}
	return fmt.Sprintf("%d scopes", k.Scopes)
}

// Lines returns the KeyLines of keys, in the same order.
func Lines(keys []*core.Key) []KeyLine {
	out := make([]KeyLine, 0, len(keys))
	for _, k := range keys {
		l := KeyLine{ID: k.ID, Name: k.Name, Hint: k.Hint, ExpiresAt: k.ExpiresAt.UTC(), Scopes: len(k.Scopes), CreatedAt: k.CreatedAt.UTC()}
		if !k.LastUsedAt.IsZero() {
			l.LastUsedAt = k.LastUsedAt.UTC()
		}
		out = append(out, l)
	}
	return out
}

// templateKey is a KeyLine with its texts ready for a template.
type templateKey struct {
	ID, Name, Hint, ExpiresAt, ScopeCount, LastUse string
}

func templateKeys(keys []*core.Key) []templateKey {
	out := make([]templateKey, 0, len(keys))
	for _, l := range Lines(keys) {
		out = append(out, templateKey{ID: l.ID, Name: l.Name, Hint: l.Hint, ExpiresAt: l.Expiry(), ScopeCount: l.ScopeCount(), LastUse: l.LastUse()})
	}
	return out
}

// deniedKey is a key with denied attempts, ready for a template.
type deniedKey struct {
	ID, Name, Hint, Attempts string
}

func deniedKeys(keys []core.DeniedKey) []deniedKey {
	out := make([]deniedKey, 0, len(keys))
	for _, d := range keys {
		a := fmt.Sprintf("%d denied attempts", d.Denied)
		if d.Denied == 1 {
			a = "1 denied attempt"
		}
		out = append(out, deniedKey{ID: d.Key.ID, Name: d.Key.Name, Hint: d.Key.Hint, Attempts: a})
	}
	return out
}

// digestData is what the digest templates render.
type digestData struct {
	Subject            string
	Slot, Since, Until string
	Expired, Expiring  []templateKey
	Idle               []templateKey
	// Denied lists the keys with denied attempts since DeniedSince (the
	// section is left out when there are none).
	Denied      []deniedKey
	DeniedSince string
}

// keyTable is the argument of the HTML "keys" sub-template.
type keyTable struct {
	Label string
	Keys  []templateKey
}

// Table pairs a column label with keys for the HTML "keys" sub-template.
func (digestData) Table(label string, keys []templateKey) keyTable { return keyTable{label, keys} }

func newDigestData(d core.Digest) digestData {
	return digestData{
		Subject:  d.Subject(),
		Slot:     d.Slot.UTC().Format(SlotLayout),
		Since:    d.Since.UTC().Format(SlotLayout),
		Until:    d.Slot.UTC().Add(core.DigestLookahead).Format(SlotLayout),
		Expired:  templateKeys(d.Expired),
		Expiring: templateKeys(d.Expiring),
		Idle:     templateKeys(d.Idle),
		Denied:   deniedKeys(d.Denied),
		// Counts are per UTC day: the 24 hours before the slot are read
		// from the start of the previous day.
		DeniedSince: core.UsageDay(d.Slot.Add(-24 * time.Hour)).Format(SlotLayout),
	}
}

// testData is what the test-message templates render.
type testData struct {
	Subject, Now, Server string
	Security             Security
	To                   []string
}

// BuildDigest builds the digest e-mail for d: multipart/alternative with a
// text/plain and a text/html part listing the expired keys first, then the
// keys expiring soon, each with name, hint, expiry (UTC) and scope count,
// then the keys that became idle, each with its last use, then (when there
// are any) the keys with denied attempts, each with their count.
// date is the Date header (the time of sending).
func BuildDigest(s Settings, storeID string, d core.Digest, date time.Time) (*Message, error) {
	data := newDigestData(d)
	return build(s, DigestMessageID(storeID, d.Slot), d.Subject(), date, "digest", data)
}

// TestSubject is the subject of the message `keydesk mail test` sends.
const TestSubject = "Company API Keys: test message from Keydesk"

// BuildTest builds the test message sent by "Send test e-mail" and
// `keydesk mail test`. Its Message-ID is unique per call time.
func BuildTest(s Settings, storeID string, now time.Time) (*Message, error) {
	now = now.UTC()
	id := fmt.Sprintf("test-%s-%d.%s@keydesk", now.Format("20060102T150405Z"), now.UnixNano()%1e9, storeID)
	data := testData{Subject: TestSubject, Now: now.Format(ExpiryLayout), Server: s.Addr(), Security: s.Security, To: s.To}
	return build(s, id, TestSubject, now, "test", data)
}

// build renders the text and HTML templates name.txt and name.html with
// data into a multipart/alternative message.
func build(s Settings, id, subject string, date time.Time, name string, data any) (*Message, error) {
	from, err := ParseAddress(s.From)
	if err != nil {
		return nil, fmt.Errorf("build message: the From address %q is not valid", s.From)
	}
	if len(s.To) == 0 {
		return nil, fmt.Errorf("build message: no recipient")
	}
	m := &Message{ID: id, From: from.Address, Subject: subject}
	to := make([]*gomail.Address, 0, len(s.To))
	for _, a := range s.To {
		addr, err := ParseAddress(a)
		if err != nil {
			return nil, fmt.Errorf("build message: the recipient address %q is not valid", a)
		}
		to = append(to, &gomail.Address{Name: addr.Name, Address: addr.Address})
		m.To = append(m.To, addr.Address)
	}

	var text, html bytes.Buffer
	if err := textTemplates.ExecuteTemplate(&text, name+".txt", data); err != nil {
		return nil, fmt.Errorf("build message text: %w", err)
	}
	if err := htmlTemplates.ExecuteTemplate(&html, name+".html", data); err != nil {
		return nil, fmt.Errorf("build message HTML: %w", err)
	}

	var h gomail.Header
	h.SetDate(date.UTC())
	h.SetAddressList("From", []*gomail.Address{{Name: from.Name, Address: from.Address}})
	h.SetAddressList("To", to)
	h.SetSubject(subject)
	h.SetMessageID(id)
	h.Set("Auto-Submitted", "auto-generated")
	h.Set("MIME-Version", "1.0")

	var buf bytes.Buffer
	w, err := gomail.CreateInlineWriter(&buf, h)
	if err != nil {
		return nil, fmt.Errorf("build message: %w", err)
	}
	if err := writePart(w, "text/plain", crlf(text.String())); err != nil {
		return nil, err
	}
	if err := writePart(w, "text/html", crlf(html.String())); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("build message: %w", err)
	}
	m.Data = buf.Bytes()
	return m, nil
}

func writePart(w *gomail.InlineWriter, contentType, body string) error {
	var h gomail.InlineHeader
	h.SetContentType(contentType, map[string]string{"charset": "utf-8"})
	pw, err := w.CreatePart(h)
	if err != nil {
		return fmt.Errorf("build message %s part: %w", contentType, err)
	}
	if _, err := io.WriteString(pw, body); err != nil {
		return fmt.Errorf("build message %s part: %w", contentType, err)
	}
	if err := pw.Close(); err != nil {
		return fmt.Errorf("build message %s part: %w", contentType, err)
	}
	return nil
}

// crlf normalises line ends to CRLF, as RFC 5322 wants.
func crlf(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}
