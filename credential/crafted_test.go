package credential

import (
	"errors"
	"runtime"
	"testing"

	"github.com/keydesk/keydesk/envelope"
	"github.com/keydesk/keydesk/internal/envelopetest"
)

// A crafted admin credential is refused before it is read: a sparse
// credential.json claiming a gigabyte (which was read into memory whole
// before being refused) costs no more memory than the scrypt derivation
// (256 MiB at 2^18), and a file made with a lower work factor is refused
// before any scrypt work.
func TestDecodeRefusesCraftedCredentials(t *testing.T) {
	const pass = "correct horse battery"
	const gig = 1 << 30
	manifest := envelopetest.Manifest(EnvelopeKind, map[string]any{"storeId": "store1"}, envelopetest.FileInfo{Name: envelopeFile, Size: gig})
	sparse := envelopetest.Encrypt(t, envelopetest.Tar(manifest, envelopetest.Sparse(envelopeFile, gig)), pass, envelope.DefaultWorkFactor)
	plain := []byte(`{"format":"keydesk-credential","version":1,"kind":"admin","storeId":"store1"}`)
	good := envelopetest.Tar(envelopetest.Manifest(EnvelopeKind, map[string]any{"storeId": "store1"},
		envelopetest.FileInfo{Name: envelopeFile, Size: int64(len(plain))}), envelopetest.File(envelopeFile, plain))
	cheap := envelopetest.Encrypt(t, good, pass, 10)
	for _, tc := range []struct {
		name string
		data []byte
		want error
	}{
		{"sparse credential.json of 1 GiB", sparse, envelope.ErrUnsafe},
		{"scrypt work factor 2^10", cheap, envelope.ErrWorkFactor},
		{"larger than any credential", make([]byte, MaxFile+1), ErrNotCredential},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ms runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms)
			before := ms.TotalAlloc
			_, err := Decode(tc.data, pass)
			runtime.ReadMemStats(&ms)
			if got := ms.TotalAlloc - before; got > 384<<20 {
				t.Errorf("decoding allocated %d MiB", got>>20)
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}
