package cli

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestAppVersionReadsFyneAppTOML(t *testing.T) {
	data, err := os.ReadFile("../FyneApp.toml")
	if err != nil {
		t.Fatal(err)
	}
	v := AppVersion(data)
	if v == "" || !strings.Contains(string(data), `Version = "`+v+`"`) {
		t.Fatalf("AppVersion = %q, not the Version in FyneApp.toml", v)
	}
	if got := AppVersion([]byte("not toml [")); got != "" {
		t.Fatalf("AppVersion(garbage) = %q, want empty", got)
	}
}

func TestVersionFlagPrintsTheVersion(t *testing.T) {
	var out, errOut bytes.Buffer
	env := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Version: "9.8.7"}
	if code := Main([]string{"--version"}, env); code != ExitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
	if got := strings.TrimSpace(out.String()); got != "keydesk version 9.8.7" {
		t.Fatalf("--version printed %q", got)
	}
}
