package core

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"
)

type vectors struct {
	Valid []struct {
		RandomHex string `json:"random_hex"`
		Key       string `json:"key"`
		Hint      string `json:"hint"`
	} `json:"valid"`
	Invalid []struct {
		Key   string `json:"key"`
		Error string `json:"error"`
	} `json:"invalid"`
}

func loadVectors(t *testing.T) vectors {
	t.Helper()
	data, err := os.ReadFile("testdata/key-format-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Valid) == 0 || len(v.Invalid) == 0 {
		t.Fatal("no vectors")
	}
	return v
}

func TestKeyFormatVectors(t *testing.T) {
	v := loadVectors(t)
	for _, tc := range v.Valid {
		raw, err := hex.DecodeString(tc.RandomHex)
		if err != nil || len(raw) != 32 {
			t.Fatalf("bad vector %q", tc.RandomHex)
		}
		var r [32]byte
		copy(r[:], raw)
		if got := FormatKey(r); got != tc.Key {
			t.Errorf("FormatKey(%s) = %s, want %s", tc.RandomHex, got, tc.Key)
		}
		got, err := ParseKey(tc.Key)
		if err != nil || got != r {
			t.Errorf("ParseKey(%s) = %x, %v; want %x", tc.Key, got, err, r)
		}
		if h := KeyHint(tc.Key); h != tc.Hint {
			t.Errorf("KeyHint = %s, want %s", h, tc.Hint)
		}
		if !KeyPattern.MatchString("token=" + tc.Key + ";") {
			t.Errorf("KeyPattern does not find %s", tc.Key)
		}
	}
	want := map[string]error{
		"length":                     ErrKeyLength,
		"prefix":                     ErrKeyPrefix,
		"alphabet":                   ErrKeyAlphabet,
		"checksum":                   ErrBadChecksum,
		"range (body above 2^256-1)": ErrKeyRange,
	}
	for _, tc := range v.Invalid {
		w, ok := want[tc.Error]
		if !ok {
			t.Fatalf("vector error kind %q not mapped", tc.Error)
		}
		if _, err := ParseKey(tc.Key); !errors.Is(err, w) {
			t.Errorf("ParseKey(%s) error = %v, want %v", tc.Key, err, w)
		}
	}
}
