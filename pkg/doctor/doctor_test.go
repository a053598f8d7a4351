package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
)

func TestExitCodeIsTheWorstUnfixedSeverity(t *testing.T) {
	check := func(fs ...Finding) []Check {
		return []Check{{ID: "x", Run: func(context.Context) []Finding { return fs }}}
	}
	fixable := Finding{Severity: Error, What: "broken", AutoFix: true, apply: func(context.Context) error { return nil }}
	failing := Finding{Severity: Warning, What: "stuck", AutoFix: true, apply: func(context.Context) error { return errors.New("busy") }}
	cases := []struct {
		name   string
		checks []Check
		fix    bool
		want   int
	}{
		{"all ok", check(ok("x", "fine")), false, 0},
		{"warning", check(ok("x", "fine"), Finding{Severity: Warning, What: "w"}), false, 1},
		{"error", check(Finding{Severity: Warning, What: "w"}, Finding{Severity: Error, What: "e"}), false, 2},
		{"error not fixed without --fix", check(fixable), false, 2},
		{"error fixed", check(fixable), true, 0},
		{"fix failed", check(failing), true, 1},
	}
	for _, tc := range cases {
		if got := Run(context.Background(), "test", tc.checks, tc.fix).ExitCode(); got != tc.want {
			t.Errorf("%s: exit code %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestOutputs(t *testing.T) {
	checks := []Check{{ID: "tgtd", Run: func(context.Context) []Finding {
		return []Finding{{Severity: Error, What: "tgtd is down", Fix: "start it", Command: []string{"systemctl", "start", "tgt"}}}
	}}, {ID: "vg", Run: func(context.Context) []Finding { return []Finding{ok("vg", "vg0 is there")} }}}
	r := Run(context.Background(), "controller", checks, false)
	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ERROR   tgtd: tgtd is down", "why: " + catalog["tgtd"], "fix: start it", "run: systemctl start tgt", "OK      vg: vg0 is there", "1 ok, 0 warning(s), 1 error(s), 0 fixed"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text output lacks %q:\n%s", want, text.String())
		}
	}
	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Mode     string
		Findings []map[string]any
	}
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Mode != "controller" || len(back.Findings) != 2 || back.Findings[0]["severity"] != "error" || back.Findings[0]["id"] != "tgtd" ||
		back.Findings[0]["why"] == nil || back.Findings[1]["severity"] != "ok" {
		t.Errorf("JSON output = %s", js.String())
	}
}

// Every finding id has its why here and its section in
// docs/troubleshooting.md, and the document names no id that is not one.
func TestEveryFindingIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/troubleshooting.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^### `([a-z-]+)`").FindAllStringSubmatch(string(doc), -1) {
		documented[m[1]] = true
	}
	for id, why := range catalog {
		if why == "" {
			t.Errorf("%s has no why", id)
		}
		if !documented[id] {
			t.Errorf("finding %s has no \"### `%s`\" section in docs/troubleshooting.md", id, id)
		}
	}
	for id := range documented {
		if _, ok := catalog[id]; !ok {
			t.Errorf("docs/troubleshooting.md documents %s, which doctor never reports", id)
		}
	}
}
