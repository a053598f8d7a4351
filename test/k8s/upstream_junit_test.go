package k8s

// No build tag: this test needs no cluster, only jq (a Debian package the
// k8s-e2e guest uses too). It checks test/k8s/upstream-junit.jq, which
// turns e2e.test's ginkgo JSON report into the JUnit file the run's summary
// counts.

import (
	"encoding/xml"
	"os/exec"
	"strings"
	"testing"
)

type junitCase struct {
	Name    string `xml:"name,attr"`
	Time    string `xml:"time,attr"`
	Failure *struct {
		Message string `xml:"message,attr"`
		Body    string `xml:",chardata"`
	} `xml:"failure"`
	Skipped *struct {
		Message string `xml:"message,attr"`
	} `xml:"skipped"`
}

type junitSuites struct {
	Suites []struct {
		Tests    int         `xml:"tests,attr"`
		Failures int         `xml:"failures,attr"`
		Skipped  int         `xml:"skipped,attr"`
		Cases    []junitCase `xml:"testcase"`
	} `xml:"testsuite"`
}

func TestUpstreamJUnitKeepsWhatRan(t *testing.T) {
	if _, err := exec.LookPath("jq"); err != nil {
		t.Skip("jq is not installed")
	}
	out, err := exec.Command("jq", "-r", "-f", "upstream-junit.jq", "testdata/ginkgo-report.json").Output()
	if err != nil {
		t.Fatalf("jq: %v", err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, out)
	}
	if len(doc.Suites) != 1 {
		t.Fatalf("%d testsuites, want 1:\n%s", len(doc.Suites), out)
	}
	s := doc.Suites[0]
	byName := map[string]junitCase{}
	for _, c := range s.Cases {
		byName[c.Name] = c
	}

	// The spec the focus left out is not a skip of this driver's tests; the
	// passed suite-level nodes are not tests.
	for name := range byName {
		if strings.Contains(name, "left out by the focus") || strings.Contains(name, "SynchronizedBeforeSuite") || strings.Contains(name, "JUnit report") {
			t.Errorf("case %q kept, want it dropped", name)
		}
	}
	// 2 It failures (failed, timedout) and the failed AfterSuite; 1 runtime skip; 1 pass.
	if s.Tests != 5 || s.Failures != 3 || s.Skipped != 1 || len(s.Cases) != 5 {
		t.Errorf("tests=%d failures=%d skipped=%d cases=%d, want 5, 3, 1, 5:\n%s", s.Tests, s.Failures, s.Skipped, len(s.Cases), out)
	}

	passed := byName["External Storage [Driver: d] [Testpattern: Dynamic PV (default fs)] volumes should store data"]
	if passed.Failure != nil || passed.Skipped != nil || passed.Time != "61.5" {
		t.Errorf("passed case: %+v, want no failure or skip and time 61.5", passed)
	}
	skipped := byName["External Storage [Driver: d] [Testpattern: Dynamic PV (xfs)] multiVolume should access from pods on different node"]
	if skipped.Skipped == nil || skipped.Skipped.Message != "Number of available nodes is less than 2 - skipping" {
		t.Errorf("skipped case: %+v, want its reason as the message", skipped)
	}
	// Names and messages with XML's special characters survive escaping.
	failed := byName[`External Storage [Driver: d] [Testpattern: Dynamic PV (block volmode)] volumes should store <data> & "more"`]
	if failed.Failure == nil || !strings.Contains(failed.Failure.Body, `pod "x" is not Running`) || !strings.Contains(failed.Failure.Body, "volumes.go:42") {
		t.Errorf("failed case: %+v, want its message and location", failed)
	}
	timedOut := byName["External Storage [Driver: d] [Testpattern: Dynamic PV (default fs)] provisioning should be interrupted"]
	if timedOut.Failure == nil || timedOut.Failure.Message != "timedout" {
		t.Errorf("timed-out case: %+v, want a failure", timedOut)
	}
	if c, ok := byName["SynchronizedAfterSuite"]; !ok || c.Failure == nil {
		t.Errorf("the failed SynchronizedAfterSuite: %+v (present %v), want a failure", c, ok)
	}
}
