package main

import (
	"fmt"
	"io"
	"strings"
)

// failureTail is how many lines of a failed case's output the summary
// repeats: enough for the failing assertion and the teardown after it, short
// enough that CI's log (often the only thing left of a run) stays readable.
const failureTail = 25

// reportFailures writes each failed case's name and the end of its output, so
// that a CI log names what failed without the run's output directory.
func reportFailures(w io.Writer, failed []junitCase) {
	for _, tc := range failed {
		msg := tc.Failure
		if msg == nil {
			msg = tc.Error
		}
		name := tc.Name
		if tc.Classname != "" && !strings.HasPrefix(name, tc.Classname) {
			name = tc.Classname + ": " + name
		}
		first, _, _ := strings.Cut(msg.Message, "\n")
		fmt.Fprintf(w, "FAIL %s: %s\n", name, first)
		body := msg.Body
		if strings.TrimSpace(body) == "" {
			body = tc.SystemOut
		}
		lines := strings.Split(strings.TrimRight(body, "\n"), "\n")
		if len(lines) > failureTail {
			fmt.Fprintf(w, "  | (%d lines before these)\n", len(lines)-failureTail)
			lines = lines[len(lines)-failureTail:]
		}
		for _, l := range lines {
			if strings.TrimSpace(l) != "" {
				fmt.Fprintf(w, "  | %s\n", l)
			}
		}
	}
}
