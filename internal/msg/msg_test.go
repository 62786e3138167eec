package msg

import "testing"

func TestSentence(t *testing.T) {
	for in, want := range map[string]string{
		"":                                       "",
		"  \t":                                   "",
		"keydesk is already open":                "Keydesk is already open.",
		"already a sentence.":                    "Already a sentence.",
		"is it?":                                 "Is it?",
		"stop!":                                  "Stop!",
		"unknown flag (see keydesk --help)":      "Unknown flag (see keydesk --help)",
		"élan lost":                              "Élan lost.",
		" padded ":                               "Padded.",
		"http://example.com/x.yaml is not HTTPS": "http://example.com/x.yaml is not HTTPS.",
		"keydesk.key is locked":                  "keydesk.key is locked.",
		`c:\keys is a folder`:                    `c:\keys is a folder.`,
		"ops@example.com bounced":                "ops@example.com bounced.",
		"open the store: done":                   "Open the store: done.",
	} {
		if got := Sentence(in); got != want {
			t.Errorf("Sentence(%q) = %q, want %q", in, got, want)
		}
	}
}
