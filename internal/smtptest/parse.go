package smtptest

import (
	"bytes"
	"errors"
	"io"
	"testing"

	gomail "github.com/emersion/go-message/mail"
)

// Part is one part of a parsed message.
type Part struct {
	ContentType string            // media type, such as "text/plain"
	Params      map[string]string // Content-Type parameters, such as charset
	Body        string            // decoded body
}

// Parsed is a received message read back with go-message.
type Parsed struct {
	Header gomail.Header // the top-level header
	Parts  []Part        // the inline parts, in order
}

// Parse reads data, a message as received, with go-message: its header and
// every part, decoded. It fails the test if the message cannot be parsed or
// has a part that is not inline (an attachment). Callers assert what they
// expect of the structure themselves.
func Parse(t testing.TB, data []byte) Parsed {
	t.Helper()
	r, err := gomail.CreateReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parse message: %v", err)
	}
	p := Parsed{Header: r.Header}
	for {
		part, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("parse message part: %v", err)
		}
		ih, ok := part.Header.(*gomail.InlineHeader)
		if !ok {
			t.Fatalf("unexpected non-inline part %T", part.Header)
		}
		ct, params, err := ih.ContentType()
		if err != nil {
			t.Fatalf("parse Content-Type of part %d: %v", len(p.Parts)+1, err)
		}
		body, err := io.ReadAll(part.Body)
		if err != nil {
			t.Fatalf("read %s part: %v", ct, err)
		}
		p.Parts = append(p.Parts, Part{ContentType: ct, Params: params, Body: string(body)})
	}
	return p
}

// ContentTypes returns the media types of the parts, in order.
func (p Parsed) ContentTypes() []string {
	out := make([]string, 0, len(p.Parts))
	for _, part := range p.Parts {
		out = append(out, part.ContentType)
	}
	return out
}

// Body returns the decoded body of the first part of media type
// contentType, or "" when there is none.
func (p Parsed) Body(contentType string) string {
	for _, part := range p.Parts {
		if part.ContentType == contentType {
			return part.Body
		}
	}
	return ""
}
