// Package report is the benchmark's result file (bench.json): the figures,
// each a driver series against its floor series measured in the same run,
// the statistics over them, and the list of figures a run must contain. The
// benchmark program (test/bench) writes it in the guest; hack/gen-benchmarks
// renders it into docs/benchmarks.md on the host.
package report

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
)

// Better says which direction of a figure is good: times are better lower,
// throughput higher.
const (
	Lower  = "lower"
	Higher = "higher"
)

// Series is the repeated measurement of one side of a figure.
type Series struct {
	Samples []float64 `json:"samples"`
	Median  float64   `json:"median"`
	P90     float64   `json:"p90"`
	// P10 is the bad tail of a throughput figure, as P90 is of a time.
	P10 float64 `json:"p10"`
}

// Tail is the bad end of the series: P90 of a time, P10 of a throughput.
func (s Series) Tail(better string) float64 {
	if better == Higher {
		return s.P10
	}
	return s.P90
}

// Figure is one thing measured: what the driver took (or reached) and what
// the bare commands doing the same work took, in the same run.
type Figure struct {
	Group  string `json:"group"` // control, burst, node, data, healing, list
	Name   string `json:"name"`
	Unit   string `json:"unit"`   // "s", "IOPS", "MiB/s"
	Better string `json:"better"` // Lower or Higher
	Driver Series `json:"driver"`
	Floor  Series `json:"floor"`
	// Ratio is Driver.Median / Floor.Median: for times 1.0 is the floor and
	// more is slower; for throughput 1.0 is the floor and less is slower.
	Ratio      float64 `json:"ratio"`
	DriverDoes string  `json:"driver_does"`
	FloorDoes  string  `json:"floor_does"`
}

// Meta is where and how the run happened.
type Meta struct {
	Mode         string            `json:"mode"` // "short" or "full"
	Date         string            `json:"date"` // RFC 3339, UTC
	Kernel       string            `json:"kernel"`
	CPU          string            `json:"cpu"`
	CPUs         int               `json:"cpus"`
	MemoryMiB    int               `json:"memory_mib"`
	Virtualised  string            `json:"virtualised"` // e.g. "qemu (TCG)" from the run's environment, or "native"
	Version      string            `json:"version"`     // git describe of the driver measured
	Settings     map[string]string `json:"settings"`
	WallSeconds  float64           `json:"wall_seconds"` // the whole benchmark program
	Observations []string          `json:"observations,omitempty"`
}

// Report is the whole file.
type Report struct {
	Meta    Meta     `json:"meta"`
	Figures []Figure `json:"figures"`
}

// NewSeries computes the statistics of samples.
func NewSeries(samples []float64) Series {
	return Series{Samples: samples, Median: Median(samples), P90: Percentile(samples, 90), P10: Percentile(samples, 10)}
}

// NewFigure builds a figure from its two sample sets.
func NewFigure(group, name, unit, better string, driver, floor []float64, driverDoes, floorDoes string) Figure {
	f := Figure{Group: group, Name: name, Unit: unit, Better: better,
		Driver: NewSeries(driver), Floor: NewSeries(floor), DriverDoes: driverDoes, FloorDoes: floorDoes}
	if f.Floor.Median > 0 {
		f.Ratio = f.Driver.Median / f.Floor.Median
	}
	return f
}

// Median is the middle sample (the mean of the two middle ones for an even
// count); NaN for none.
func Median(samples []float64) float64 {
	if len(samples) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(samples))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Percentile is the nearest-rank p-th percentile: the smallest sample that
// at least p % of the samples do not exceed. With few samples that is an
// extreme one (the largest for p = 90 and fewer than ten samples), said
// plainly rather than interpolated.
func Percentile(samples []float64, p float64) float64 {
	if len(samples) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(samples))
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

// Key names a figure uniquely within a report.
func (f Figure) Key() string { return f.Group + "/" + f.Name }

// Check says what is wrong with a report that should hold every figure of
// want: a missing or duplicated figure, a side without samples, a sample
// that is not a positive number. A benchmark never fails on a number's
// size; this only catches a harness that broke.
func (r *Report) Check(want []string) error {
	seen := map[string]int{}
	var problems []string
	for _, f := range r.Figures {
		seen[f.Key()]++
		for side, s := range map[string]Series{"driver": f.Driver, "floor": f.Floor} {
			if len(s.Samples) == 0 {
				problems = append(problems, fmt.Sprintf("%s: no %s samples", f.Key(), side))
			}
			for _, v := range s.Samples {
				if !(v > 0) || math.IsInf(v, 0) {
					problems = append(problems, fmt.Sprintf("%s: %s sample %v is not a positive number", f.Key(), side, v))
					break
				}
			}
		}
		if f.Better != Lower && f.Better != Higher {
			problems = append(problems, fmt.Sprintf("%s: better is %q", f.Key(), f.Better))
		}
	}
	for _, k := range want {
		if seen[k] == 0 {
			problems = append(problems, "missing figure "+k)
		}
	}
	for k, n := range seen {
		if n > 1 {
			problems = append(problems, fmt.Sprintf("figure %s appears %d times", k, n))
		}
	}
	if r.Meta.Kernel == "" || r.Meta.Date == "" {
		problems = append(problems, "meta: kernel or date missing")
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return fmt.Errorf("bench.json is incomplete:\n  %s", joinLines(problems))
	}
	return nil
}

func joinLines(s []string) string {
	out := ""
	for i, l := range s {
		if i > 0 {
			out += "\n  "
		}
		out += l
	}
	return out
}

// Load reads a report file.
func Load(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	// The raw samples are the record; the statistics are computed again
	// from them, so a file written by an older version of the benchmark
	// (without p10, say) renders with today's statistics.
	for i, f := range r.Figures {
		r.Figures[i] = NewFigure(f.Group, f.Name, f.Unit, f.Better, f.Driver.Samples, f.Floor.Samples, f.DriverDoes, f.FloorDoes)
	}
	return &r, nil
}

// Save writes a report file.
func (r *Report) Save(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
