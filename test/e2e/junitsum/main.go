// Command junitsum turns test results into the one line the end-to-end
// harness prints, and converts Go test output into JUnit so that every result
// of a run lands in the same format.
//
//	junitsum FILE.xml...                 print "N passed, N failed, N skipped"
//	                                     (and each failure's output on stderr)
//	junitsum -from-test2json -suite NAME < events.json > junit.xml
//
// The summary exits 1 when any test failed or when no test ran at all (every
// test skipped, or no test case in the files), so a broken harness that runs
// nothing cannot look green.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	fromTest2JSON := flag.Bool("from-test2json", false, "read `go test -json` / test2json events on stdin and write JUnit XML to stdout")
	suite := flag.String("suite", "go-test", "JUnit testsuite name used with -from-test2json")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: junitsum FILE.xml...\n       junitsum -from-test2json [-suite NAME] < events.json > junit.xml\n")
		flag.PrintDefaults()
	}
	flag.Parse()

	if *fromTest2JSON {
		if err := convert(os.Stdin, os.Stdout, *suite); err != nil {
			fmt.Fprintln(os.Stderr, "junitsum:", err)
			os.Exit(2)
		}
		return
	}
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	os.Exit(summarize(os.Stdout, os.Stderr, flag.Args()))
}

// summarize prints the summary line of all files and returns the exit code.
// The failed cases, with the end of their output, go to stderr.
func summarize(stdout, stderr io.Writer, paths []string) int {
	var total Counts
	var failed []junitCase
	for _, path := range paths {
		c, f, err := readFile(path)
		if err != nil {
			fmt.Fprintln(stderr, "junitsum:", err)
			return 2
		}
		total = total.Add(c)
		failed = append(failed, f...)
	}
	reportFailures(stderr, failed)
	fmt.Fprintln(stdout, total)
	if !total.OK() {
		return 1
	}
	return 0
}

// convert reads test2json events and writes them as one JUnit testsuite.
func convert(in io.Reader, out io.Writer, suite string) error {
	cases, err := readTest2JSON(in)
	if err != nil {
		return err
	}
	return writeJUnit(out, suite, cases)
}
