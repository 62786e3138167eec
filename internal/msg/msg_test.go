package msg

import "testing"

func TestSentence(t *testing.T) {
	for in, want := range map[string]string{
		"":                                  "",
		"  \t":                              "",
		"keydesk is already open":           "Keydesk is already open.",
		"already a sentence.":               "Already a sentence.",
		"is it?":                            "Is it?",
		"stop!":                             "Stop!",
		"unknown flag (see keydesk --help)": "Unknown flag (see keydesk --help)",
		"élan lost":                         "Élan lost.",
		" padded ":                          "Padded.",
	} {
		if got := Sentence(in); got != want {
			t.Errorf("Sentence(%q) = %q, want %q", in, got, want)
		}
	}
}
