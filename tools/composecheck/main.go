// Command composecheck validates docker-compose.yml with compose-go, the
// loader of `docker compose` v2, without a Docker engine: schema, variable
// interpolation, YAML anchors and cross-references (depends_on, volumes,
// profiles). CI runs it next to Debian's docker-compose (v1) `config -q`.
//
//	go run . ../../docker-compose.yml
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: composecheck docker-compose.yml")
		os.Exit(2)
	}
	if err := check(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "composecheck:", err)
		os.Exit(1)
	}
}

func check(file string) error {
	abs, err := filepath.Abs(file)
	if err != nil {
		return err
	}
	// No .env and no process environment: the file must work with its own
	// defaults, as `docker compose up` on a fresh checkout does. Every
	// profile is loaded so the operator-only services are checked too.
	opts, err := cli.NewProjectOptions([]string{abs}, cli.WithName("ai-platform"),
		cli.WithWorkingDirectory(filepath.Dir(abs)), cli.WithEnv(nil), cli.WithProfiles([]string{"*"}),
		cli.WithConsistency(true))
	if err != nil {
		return err
	}
	p, err := cli.ProjectFromOptions(context.Background(), opts)
	if err != nil {
		return err
	}
	names := p.ServiceNames()
	slices.Sort(names)
	fmt.Printf("%s: valid for docker compose v2 (%d services: %v)\n", file, len(names), names)
	return nil
}
