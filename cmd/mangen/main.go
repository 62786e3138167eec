// Command mangen writes keydesk's man pages (one per command, section 1)
// into a folder, generated from the command tree with cobra/doc:
//
//	go run -tags migrated_fynedo ./cmd/mangen -o dist/man
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra/doc"

	"github.com/keydesk/keydesk/cli"
)

func main() {
	out := flag.String("o", "dist/man", "the folder to write the man pages into")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "mangen:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	root := cli.NewCommand(&cli.Env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard})
	header := &doc.GenManHeader{Title: "KEYDESK", Section: "1", Source: "Keydesk", Manual: "Keydesk Manual"}
	if err := doc.GenManTree(root, header, dir); err != nil {
		return fmt.Errorf("write the man pages: %w", err)
	}
	fmt.Printf("mangen: man pages in %s\n", dir)
	return nil
}
