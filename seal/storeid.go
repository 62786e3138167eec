package seal

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// NewStoreID returns a random 128-bit store id in hex. A store's id is
// bound into its signed state and names its signing material.
func NewStoreID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate store id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
