// Package msg turns error values into what people read. Error values are
// short and lowercase (bbolt's style); the window and the command line
// show them as one sentence with Sentence.
package msg

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sentence makes s read as one sentence: trimmed, its first letter
// capitalised, ending in a full stop unless it already ends in ".", "?",
// "!" or ")". An empty s stays empty. A sentence that starts with a URL,
// a file name or an address (a first word holding ":", "/", a backslash, "." or
// "@") keeps its first letter: "Http://…" or "Keydesk.key" would name
// something else.
func Sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	first, _, _ := strings.Cut(s, " ")
	if !strings.ContainsAny(strings.TrimRight(first, ".,:;"), `:/\.@`) {
		r, n := utf8.DecodeRuneInString(s)
		s = string(unicode.ToUpper(r)) + s[n:]
	}
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "?") && !strings.HasSuffix(s, "!") && !strings.HasSuffix(s, ")") {
		s += "."
	}
	return s
}
