package shared

import (
	"os"
	"strings"
	"testing"

	"github.com/keydesk/keydesk/pgstore"
)

// The README's GRANTs for the server role are the ones the tests run a
// replica under.
func TestReadmeServerGrants(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range pgstore.ServerGrants("keydesk_server") {
		want := strings.ReplaceAll(g, `"keydesk_server"`, "keydesk_server") + ";"
		if !strings.Contains(string(readme), want) {
			t.Errorf("the README lacks %q", want)
		}
	}
}
