// Command gen-benchmarks writes one benchmark run (the bench.json of
// `make bench`, test/bench) into docs/benchmarks.md as a named section
// ("before", "after", "latest"...): between that section's markers,
// replacing the previous figures of the same name, or appended at the end
// when the document has no such section yet. The rest of the document is
// hand-written and left alone. Next to the document, in benchmarks/, it
// draws one PNG chart per group of figures (<section>-<group>.png, the ratio
// to the floor of each figure) and links them from the section.
//
//	go run ./hack/gen-benchmarks -in _output/bench/bench.json -section before
package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
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
	links, err := writeCharts(r, section, doc)
	if err != nil {
		return err
	}
	out, err := report.Splice(string(old), section, report.RenderWithCharts(r, section, links))
	if err != nil {
		return fmt.Errorf("%s: %w", doc, err)
	}
	if err := os.WriteFile(doc, []byte(out), 0o644); err != nil {
		return err
	}
	fmt.Printf("gen-benchmarks: wrote section %q (%d figures, %s run of %s) into %s\n", section, len(r.Figures), r.Meta.Mode, r.Meta.Date, doc)
	return nil
}

// chartDir is where the charts go, relative to the document: the links in
// the section are relative too, so the document renders wherever it is read.
const chartDir = "benchmarks"

// writeCharts draws the run's charts into chartDir next to doc, before the
// document is written (a section never links a chart that is not there),
// and returns each group's link.
func writeCharts(r *report.Report, section, doc string) (map[string]string, error) {
	charts, err := renderCharts(r, section)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(filepath.Dir(doc), chartDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	links := map[string]string{}
	for _, c := range charts {
		if err := os.WriteFile(filepath.Join(dir, c.file), c.png, 0o644); err != nil {
			return nil, err
		}
		links[c.group] = path.Join(chartDir, c.file)
	}
	return links, nil
}
