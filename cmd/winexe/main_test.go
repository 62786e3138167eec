package main

import (
	"bytes"
	"debug/pe"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// buildWindows builds a tiny Windows program with the given -H linker mode.
func buildWindows(t *testing.T, mode string) []byte {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte("package main\n\nfunc main() { println(\"hi\") }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "p.exe")
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build a Windows program: %v", err)
	}
	cmd := exec.Command(gobin, "build", "-ldflags", "-H="+mode, "-o", out, src)
	cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0", "GO111MODULE=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, b)
	}
	img, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func subsystem(t *testing.T, img []byte) uint16 {
	t.Helper()
	f, err := pe.NewFile(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	return f.OptionalHeader.(*pe.OptionalHeader64).Subsystem
}

func TestSetConsoleSubsystem(t *testing.T) {
	img := buildWindows(t, "windowsgui")
	if got := subsystem(t, img); got != pe.IMAGE_SUBSYSTEM_WINDOWS_GUI {
		t.Fatalf("built subsystem %d, want GUI", got)
	}
	orig := bytes.Clone(img)
	if err := SetConsoleSubsystem(img); err != nil {
		t.Fatal(err)
	}
	if got := subsystem(t, img); got != pe.IMAGE_SUBSYSTEM_WINDOWS_CUI {
		t.Fatalf("subsystem after = %d, want console", got)
	}
	diff := 0
	for i := range img {
		if img[i] != orig[i] {
			diff++
		}
	}
	if diff != 1 {
		t.Errorf("%d bytes changed, want 1 (the subsystem's low byte)", diff)
	}
}

func TestSetConsoleSubsystemRefuses(t *testing.T) {
	console := buildWindows(t, "windows")
	if err := SetConsoleSubsystem(console); !errors.Is(err, ErrNotGUI) {
		t.Errorf("a console program: err = %v, want ErrNotGUI", err)
	}
	if err := SetConsoleSubsystem([]byte("MZ not a PE at all")); err == nil {
		t.Error("garbage: no error")
	}
}
