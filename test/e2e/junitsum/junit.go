package main

import (
	"encoding/xml"
	"fmt"
	"io"
	"os"
)

// Counts is the outcome of a set of test cases.
type Counts struct {
	Passed, Failed, Skipped int
}

// String is the harness's summary line, in the plain form CI reads.
func (c Counts) String() string {
	return fmt.Sprintf("%d passed, %d failed, %d skipped", c.Passed, c.Failed, c.Skipped)
}

// Add returns the sum of two counts.
func (c Counts) Add(o Counts) Counts {
	return Counts{c.Passed + o.Passed, c.Failed + o.Failed, c.Skipped + o.Skipped}
}

// OK reports whether the run is a success: nothing failed and something ran.
func (c Counts) OK() bool {
	return c.Failed == 0 && c.Passed > 0
}

// junitCase is the part of a JUnit <testcase> that decides its outcome. Both
// ginkgo's reporter and writeJUnit mark failures with <failure> or <error> and
// skips with <skipped>; a case with none of them passed.
type junitCase struct {
	Name      string    `xml:"name,attr"`
	Classname string    `xml:"classname,attr"`
	Time      float64   `xml:"time,attr"`
	Failure   *junitMsg `xml:"failure"`
	Error     *junitMsg `xml:"error"`
	Skipped   *junitMsg `xml:"skipped"`
	SystemOut string    `xml:"system-out,omitempty"`
}

type junitMsg struct {
	Message string `xml:"message,attr,omitempty"`
	Type    string `xml:"type,attr,omitempty"`
	Body    string `xml:",chardata"`
}

type junitSuite struct {
	XMLName  xml.Name    `xml:"testsuite"`
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     float64     `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

// junitDoc accepts both layouts in use: a <testsuites> root holding suites
// (ginkgo) and a bare <testsuite> root.
type junitDoc struct {
	XMLName xml.Name
	Suites  []junitSuite `xml:"testsuite"`
	Cases   []junitCase  `xml:"testcase"`
}

// countFile counts the test cases of one JUnit file.
func countFile(path string) (Counts, error) {
	c, _, err := readFile(path)
	return c, err
}

// readFile counts the test cases of one JUnit file and returns the failed ones.
func readFile(path string) (Counts, []junitCase, error) {
	f, err := os.Open(path)
	if err != nil {
		return Counts{}, nil, err
	}
	defer f.Close()
	c, failed, err := readJUnit(f)
	if err != nil {
		return Counts{}, nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, failed, nil
}

func readJUnit(r io.Reader) (Counts, []junitCase, error) {
	var doc junitDoc
	if err := xml.NewDecoder(r).Decode(&doc); err != nil {
		return Counts{}, nil, fmt.Errorf("not JUnit XML: %w", err)
	}
	switch doc.XMLName.Local {
	case "testsuites", "testsuite":
	default:
		return Counts{}, nil, fmt.Errorf("not JUnit XML: root element is <%s>", doc.XMLName.Local)
	}
	cases := doc.Cases
	for _, s := range doc.Suites {
		cases = append(cases, s.Cases...)
	}
	var c Counts
	var failed []junitCase
	for _, tc := range cases {
		switch {
		case tc.Failure != nil || tc.Error != nil:
			c.Failed++
			failed = append(failed, tc)
		case tc.Skipped != nil:
			c.Skipped++
		default:
			c.Passed++
		}
	}
	return c, failed, nil
}

// writeJUnit writes cases as one <testsuite> document.
func writeJUnit(w io.Writer, name string, cases []junitCase) error {
	s := junitSuite{Name: name, Tests: len(cases), Cases: cases}
	for _, tc := range cases {
		s.Time += tc.Time
		switch {
		case tc.Failure != nil:
			s.Failures++
		case tc.Error != nil:
			s.Errors++
		case tc.Skipped != nil:
			s.Skipped++
		}
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(s); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
