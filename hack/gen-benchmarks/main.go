// Command gen-benchmarks writes one benchmark run (the bench.json of
// `make bench`, test/bench) into docs/benchmarks.md as a named section
// ("before", "after", "latest"...): between that section's markers,
// replacing the previous figures of the same name, or appended at the end
// when the document has no such section yet. The rest of the document is
// hand-written and left alone.
//
//	go run ./hack/gen-benchmarks -in _output/bench/bench.json -section before
package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"regexp"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/test/bench/report"
)

func main() {
	in := flag.String("in", "_output/bench/bench.json", "the run's results")
	doc := flag.String("doc", "docs/benchmarks.md", "the document to write the section into")
	section := flag.String("section", "latest", "the section's name: letters, digits, '-' and '_'")
	flag.Parse()
	if err := run(*in, *doc, *section); err != nil {
		fmt.Fprintf(os.Stderr, "gen-benchmarks: %v\n", err)
		os.Exit(1)
	}
}

var sectionName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func run(in, doc, section string) error {
	if !sectionName.MatchString(section) {
		return fmt.Errorf("section name %q: only letters, digits, '-' and '_'", section)
	}
	r, err := report.Load(in)
	if err != nil {
		return err
	}
	if err := r.Check(report.Expected(r.Meta.Mode == "short")); err != nil {
		return err
	}
	old, err := os.ReadFile(doc)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	out, err := report.Splice(string(old), section, report.Render(r, section))
	if err != nil {
		return fmt.Errorf("%s: %w", doc, err)
	}
	if err := os.WriteFile(doc, []byte(out), 0o644); err != nil {
		return err
	}
	fmt.Printf("gen-benchmarks: wrote section %q (%d figures, %s run of %s) into %s\n", section, len(r.Figures), r.Meta.Mode, r.Meta.Date, doc)
	return nil
}
