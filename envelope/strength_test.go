package envelope

import (
	"errors"
	"fmt"
	"testing"
)

// Obviously weak passphrases of twelve characters or more are refused for
// something new, each with its reason; good ones pass.
func TestCheckNewPassphrase(t *testing.T) {
	for _, tc := range []struct {
		pass string
		want error
	}{
		{"aaaaaaaaaaaa", ErrPassphraseRepeats},
		{"abcabcabcabc", ErrPassphraseRepeats},
		{"passwordpassword", ErrPassphraseRepeats},
		{"abcdefghijklmn", ErrPassphraseSequence},
		{"lmnopqrstuvw", ErrPassphraseSequence},
		{"qwertasdfgzxcvb", ErrPassphraseCommon},
		{"Password1234", ErrPassphraseCommon},
		{"iloveyou2026", ErrPassphraseCommon},
		{"keydeskkeydesk1", ErrPassphraseRepeats},
		{"short", ErrShortPassphrase},
		{"correct horse battery", nil},
		{"Tr0ub4dor&3xx", nil},
		{"walnut-kestrel-orbit-7", nil},
	} {
		err := CheckNewPassphrase(tc.pass)
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%q: got %v, want %v", tc.pass, err, tc.want)
		}
		if tc.want != nil && tc.want != ErrShortPassphrase && !errors.Is(err, ErrWeakPassphrase) {
			t.Errorf("%q: %v is not ErrWeakPassphrase", tc.pass, err)
		}
	}
	// A passphrase typed to open something is only checked for length:
	// Write, which also rewrites key files under their existing
	// passphrase, takes a weak one.
	if err := CheckPassphrase("aaaaaaaaaaaa"); err != nil {
		t.Errorf("CheckPassphrase: %v", err)
	}
}

// The estimate reads at most strengthRunes characters: a very long
// passphrase costs no more than a 64-character one.
func BenchmarkCheckNewPassphrase(b *testing.B) {
	for _, n := range []int{20, 64, 4096} {
		p := make([]rune, n)
		for i := range p {
			p[i] = rune("walnut kestrel orbit 7 "[i%23])
		}
		b.Run(fmt.Sprintf("runes=%d", n), func(b *testing.B) {
			for b.Loop() {
				CheckNewPassphrase(string(p))
			}
		})
	}
}
