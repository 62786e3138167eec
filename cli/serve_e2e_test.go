package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeBinarySIGTERM runs the real binary's `keydesk --demo serve` (the
// demo store has the in-memory keyring, so no Secret Service is needed),
// asks it something over HTTP and stops it with SIGTERM: it shuts down
// cleanly with exit status 0.
func TestServeBinarySIGTERM(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "--demo", "serve", "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "LANG=C.UTF-8", "KEYDESK_DATA=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(stdout)
	line, err := r.ReadString('\n')
	if err != nil {
		_ = cmd.Wait()
		t.Fatalf("no address line: %v\n%s", err, stderr.String())
	}
	url := regexp.MustCompile(`http://\S+`).FindString(line)
	if url == "" {
		t.Fatalf("no URL in %q", line)
	}

	resp, err := http.Post(url+"/v1/keys/verify", "application/json", strings.NewReader(`{"key": "kdk_not_a_key"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"reason":"malformed"`) {
		t.Fatalf("verify: %d %s", resp.StatusCode, body)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(r)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve did not exit cleanly on SIGTERM: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(string(rest), "Stopped") {
		t.Errorf("no shutdown line in %q", rest)
	}
}
