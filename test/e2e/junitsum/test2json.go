package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// event is one line of `go test -json` / `go tool test2json` output
// (see `go doc test2json`).
type event struct {
	Action  string
	Package string
	Test    string
	Elapsed float64
	Output  string
}

// readTest2JSON turns a test2json stream into one JUnit case per test, in the
// order the tests started. A test that started but never ended (the binary
// crashed or timed out) is a failure, and so is a package that failed outside
// any test (a panic in TestMain, a build failure, a non-zero exit).
func readTest2JSON(r io.Reader) ([]junitCase, error) {
	var (
		order   []string
		output  = map[string]*strings.Builder{}
		results = map[string]event{}
		pkgFail *event
		pkgOut  strings.Builder
	)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1024*1024), 16*1024*1024)
	for line := 1; sc.Scan(); line++ {
		raw := sc.Bytes()
		if len(strings.TrimSpace(string(raw))) == 0 {
			continue
		}
		var ev event
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("test2json line %d: %w", line, err)
		}
		if ev.Test == "" {
			switch ev.Action {
			case "output":
				pkgOut.WriteString(ev.Output)
			case "fail":
				e := ev
				pkgFail = &e
			}
			continue
		}
		switch ev.Action {
		case "run":
			if _, seen := output[ev.Test]; !seen {
				order = append(order, ev.Test)
				output[ev.Test] = &strings.Builder{}
			}
		case "output":
			if b, ok := output[ev.Test]; ok {
				b.WriteString(ev.Output)
			}
		case "pass", "fail", "skip":
			results[ev.Test] = ev
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}

	cases := make([]junitCase, 0, len(order)+1)
	for _, name := range order {
		if subs := subtests(name, order); len(subs) > 0 {
			// A parent's result repeats its subtests'; it counts only when it
			// failed by itself (a t.Fatal before or after its t.Run calls).
			if results[name].Action == "pass" || results[name].Action == "skip" || anyUnsuccessful(subs, results) {
				continue
			}
		}
		tc := junitCase{Name: name, SystemOut: output[name].String()}
		res, ended := results[name]
		tc.Time = res.Elapsed
		switch {
		case !ended:
			tc.Failure = &junitMsg{Message: "test did not finish", Body: tc.SystemOut}
		case res.Action == "fail":
			tc.Failure = &junitMsg{Message: "failed", Body: tc.SystemOut}
		case res.Action == "skip":
			tc.Skipped = &junitMsg{Message: lastLine(tc.SystemOut)}
		}
		cases = append(cases, tc)
	}
	if pkgFail != nil && !anyFailed(cases) {
		cases = append(cases, junitCase{
			Name:    "[package] " + pkgFail.Package,
			Time:    pkgFail.Elapsed,
			Failure: &junitMsg{Message: "the test binary failed outside any test", Body: pkgOut.String()},
		})
	}
	return cases, nil
}

// subtests returns the names in all that are nested below name.
func subtests(name string, all []string) []string {
	var subs []string
	for _, other := range all {
		if strings.HasPrefix(other, name+"/") {
			subs = append(subs, other)
		}
	}
	return subs
}

// anyUnsuccessful reports whether one of names failed or never finished.
func anyUnsuccessful(names []string, results map[string]event) bool {
	for _, n := range names {
		if r, ended := results[n]; !ended || r.Action == "fail" {
			return true
		}
	}
	return false
}

func anyFailed(cases []junitCase) bool {
	for _, tc := range cases {
		if tc.Failure != nil {
			return true
		}
	}
	return false
}

// lastLine returns the last non-empty line of s, which for a skipped Go test
// is the reason given to t.Skip.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" && !strings.HasPrefix(l, "--- SKIP") {
			return l
		}
	}
	return ""
}
