package core

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/big"
	mathrand "math/rand/v2"
	"os"
	"strings"
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

// TestBase62MatchesBigInt checks the integer base62 codec against math/big
// on edge values and random ones: both directions, every width bit.
func TestBase62MatchesBigInt(t *testing.T) {
	bigEncode := func(b []byte) string {
		n := new(big.Int).SetBytes(b)
		out := []byte(strings.Repeat("0", BodyLength))
		base, mod := big.NewInt(62), new(big.Int)
		for i := BodyLength - 1; i >= 0 && n.Sign() > 0; i-- {
			n.DivMod(n, base, mod)
			out[i] = base62Alphabet[mod.Int64()]
		}
		return string(out)
	}
	cases := [][32]byte{{}, {31: 1}, {31: 61}, {31: 62}, {0: 0x80}}
	var max [32]byte
	for i := range max {
		max[i] = 0xff
	}
	cases = append(cases, max)
	r := mathrand.New(mathrand.NewPCG(1, 2))
	for range 2000 {
		var c [32]byte
		for i := range c {
			c[i] = byte(r.Uint32())
		}
		// Also short numbers, whose bodies start with zeros.
		clear(c[:r.IntN(32)])
		cases = append(cases, c)
	}
	for _, c := range cases {
		want := bigEncode(c[:])
		key := FormatKey(c)
		if got := key[len(KeyPrefix) : len(KeyPrefix)+BodyLength]; got != want {
			t.Fatalf("body of %x = %s, want %s", c, got, want)
		}
		back, err := ParseKey(key)
		if err != nil || back != c {
			t.Fatalf("ParseKey(FormatKey(%x)) = %x, %v", c, back, err)
		}
	}
	if maxBody != bigEncode(max[:]) {
		t.Fatalf("maxBody = %s, want %s", maxBody, bigEncode(max[:]))
	}
}

// TestParseKeyDoesNotAllocate: parsing a key is on the verification path.
func TestParseKeyDoesNotAllocate(t *testing.T) {
	key := FormatKey([32]byte{0: 0x12, 31: 0x34})
	if n := testing.AllocsPerRun(100, func() {
		if _, err := ParseKey(key); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("ParseKey allocates %v times", n)
	}
}
