package core

import (
	"bytes"
	"errors"
	"testing"
)

func FuzzParseKey(f *testing.F) {
	for _, s := range []string{
		"kdk_00000000000000000000000000000000000000000003UatDX",
		"kdk_yhjskwdA6OZ1AL1YmHWZWm8LLG7HjnuCA2j5rOw8Xp10OBKzr",
		"kdk_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz43kCiA",
		"kdk_9ATGJ0-j7bAaO6zaIt7AUK0kNEnDyXOaNamUaI2dTyX0zhm7i",
		"kdk_", "", "kdx_", "kdk_é", "\x00\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		raw, err := ParseKey(s)
		if err != nil {
			for _, known := range []error{ErrKeyPrefix, ErrKeyLength, ErrKeyAlphabet, ErrKeyRange, ErrBadChecksum} {
				if errors.Is(err, known) {
					if bytes.Contains([]byte(err.Error()), []byte(s)) && len(s) > 8 {
						t.Fatalf("error message contains the input")
					}
					return
				}
			}
			t.Fatalf("ParseKey(%q) returned an unexpected error %v", s, err)
		}
		if FormatKey(raw) != s {
			t.Fatalf("ParseKey(%q) round-trips to %q", s, FormatKey(raw))
		}
		if !KeyPattern.MatchString(s) {
			t.Fatalf("valid key %q does not match KeyPattern", s)
		}
	})
}

func TestGenerateKeyRoundTrip(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		k, err := GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		if seen[k] {
			t.Fatal("GenerateKey repeated a key")
		}
		seen[k] = true
		raw, err := ParseKey(k)
		if err != nil || FormatKey(raw) != k {
			t.Fatalf("generated key does not round-trip: %v", err)
		}
	}
	if _, err := GenerateKey(bytes.NewReader(make([]byte, 31))); err == nil {
		t.Fatal("GenerateKey accepted a short random source")
	}
}
