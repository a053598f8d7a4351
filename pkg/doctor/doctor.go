// Package doctor checks what the driver depends on and the failures of the
// project's FAQ (docs/design.md, "The failures this driver is built
// against"; docs/troubleshooting.md) on a storage host or a node, and says
// for each finding what is wrong, why it matters and the exact fix.
// `lvm-iscsi-csi doctor` runs it. Every check only reads, through the tool
// packages (pkg/lvm, pkg/tgt, pkg/iscsi: argv lists, LC_ALL=C), sysfs and
// procfs; --fix applies the few fixes that are safe while the driver runs.
package doctor

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Severity of a finding. The exit code of `doctor` is the worst one.
type Severity int

const (
	OK Severity = iota
	Warning
	Error
)

var severityNames = []string{"ok", "warning", "error"}

func (s Severity) String() string {
	if s < OK || s > Error {
		return fmt.Sprintf("Severity(%d)", int(s))
	}
	return severityNames[s]
}

// MarshalText makes JSON say "ok", "warning" or "error".
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Finding is one result of one check. A check that finds nothing wrong
// reports one OK finding, so the output shows what was looked at.
type Finding struct {
	// ID names the check (docs/troubleshooting.md has a section per id).
	ID       string   `json:"id"`
	Severity Severity `json:"severity"`
	// What was found, naming the object (volume, target, session, path).
	What string `json:"what"`
	// Why it matters: what a user sees and the FAQ item it is.
	Why string `json:"why,omitempty"`
	// Fix is the exact fix, for a human.
	Fix string `json:"fix,omitempty"`
	// Command is the fix as one command line, when one command does it.
	Command []string `json:"command,omitempty"`
	// AutoFix: --fix applies it (only fixes safe while the driver runs).
	AutoFix bool `json:"autoFix,omitempty"`
	// Fixed and FixError are --fix's outcome.
	Fixed    bool   `json:"fixed,omitempty"`
	FixError string `json:"fixError,omitempty"`

	apply func(context.Context) error
}

// Check is one small check; it returns at least one finding.
type Check struct {
	ID  string
	Run func(ctx context.Context) []Finding
}

// Report is the outcome of a run.
type Report struct {
	Mode     string    `json:"mode"`
	Findings []Finding `json:"findings"`
}

// Run runs the checks in order and, with fix, applies the safe fixes of
// what they found.
func Run(ctx context.Context, mode string, checks []Check, fix bool) Report {
	r := Report{Mode: mode, Findings: []Finding{}}
	for _, c := range checks {
		for _, f := range c.Run(ctx) {
			if f.ID == "" {
				f.ID = c.ID
			}
			if f.Why == "" && f.Severity != OK {
				f.Why = why(f.ID)
			}
			if fix && f.AutoFix && f.apply != nil && f.Severity != OK {
				if err := f.apply(ctx); err != nil {
					f.FixError = err.Error()
				} else {
					f.Fixed = true
				}
			}
			r.Findings = append(r.Findings, f)
		}
	}
	return r
}

// Worst is the highest severity of a finding that is not fixed.
func (r Report) Worst() Severity {
	worst := OK
	for _, f := range r.Findings {
		if !f.Fixed && f.Severity > worst {
			worst = f.Severity
		}
	}
	return worst
}

// ExitCode is doctor's exit code: 0 all ok, 1 a warning, 2 an error
// (fixed findings do not count).
func (r Report) ExitCode() int { return int(r.Worst()) }

// WriteJSON writes the report as one JSON document.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes one block per finding, problems in full, OK ones as one
// line.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	counts := map[Severity]int{}
	fixed := 0
	for _, f := range r.Findings {
		if f.Fixed {
			fixed++
		} else {
			counts[f.Severity]++
		}
		label := strings.ToUpper(f.Severity.String())
		if f.Fixed {
			label = "FIXED"
		}
		fmt.Fprintf(&b, "%-7s %s: %s\n", label, f.ID, f.What)
		if f.Severity == OK {
			continue
		}
		if f.Why != "" {
			fmt.Fprintf(&b, "        why: %s\n", f.Why)
		}
		if f.Fix != "" {
			fmt.Fprintf(&b, "        fix: %s\n", f.Fix)
		}
		if len(f.Command) > 0 {
			fmt.Fprintf(&b, "        run: %s\n", strings.Join(f.Command, " "))
		}
		if f.AutoFix && !f.Fixed && f.FixError == "" {
			b.WriteString("        (--fix applies it)\n")
		}
		if f.FixError != "" {
			fmt.Fprintf(&b, "        --fix failed: %s\n", f.FixError)
		}
	}
	fmt.Fprintf(&b, "%s doctor: %d ok, %d warning(s), %d error(s), %d fixed\n", r.Mode, counts[OK], counts[Warning], counts[Error], fixed)
	_, err := io.WriteString(w, b.String())
	return err
}

func ok(id, what string) Finding { return Finding{ID: id, Severity: OK, What: what} }
