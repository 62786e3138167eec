package core

import "testing"

// BenchmarkCheckKey is CheckKey of a valid key: the format check every
// verification pays before its HMAC.
func BenchmarkCheckKey(b *testing.B) {
	var random [32]byte
	for i := range random {
		random[i] = byte(i * 37)
	}
	key := FormatKey(random)
	b.ReportAllocs()
	for b.Loop() {
		if CheckKey(key) != nil {
			b.Fatal("valid key refused")
		}
	}
}

// BenchmarkChecksumMatches is the CRC part of CheckKey alone.
func BenchmarkChecksumMatches(b *testing.B) {
	var random [32]byte
	key := FormatKey(random)
	for b.Loop() {
		if !checksumMatches(key) {
			b.Fatal("checksum refused")
		}
	}
}
