package report

import (
	"math"
	"path/filepath"
	"strings"
	"testing"
)

func TestMedianAndPercentiles(t *testing.T) {
	cases := []struct {
		samples          []float64
		median, p90, p10 float64
	}{
		{[]float64{3}, 3, 3, 3},
		{[]float64{4, 1}, 2.5, 4, 1},
		{[]float64{5, 1, 3}, 3, 5, 1},
		// Ten samples: the 90th percentile is the 9th smallest, the 10th the smallest.
		{[]float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, 5.5, 9, 1},
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}, 10.5, 18, 2},
	}
	for _, c := range cases {
		s := NewSeries(c.samples)
		if s.Median != c.median || s.P90 != c.p90 || s.P10 != c.p10 {
			t.Errorf("%v: median %v p90 %v p10 %v, want %v %v %v", c.samples, s.Median, s.P90, s.P10, c.median, c.p90, c.p10)
		}
	}
	if !math.IsNaN(Median(nil)) || !math.IsNaN(Percentile(nil, 90)) {
		t.Error("no samples must give NaN, not a number that looks measured")
	}
}

func TestNewSeriesLeavesTheSamplesInTheirOrder(t *testing.T) {
	samples := []float64{3, 1, 2}
	NewSeries(samples)
	if samples[0] != 3 || samples[1] != 1 || samples[2] != 2 {
		t.Errorf("samples reordered to %v; the raw order is the run's order and is kept in the JSON", samples)
	}
}

func TestFigureRatioIsOfTheMedians(t *testing.T) {
	f := NewFigure(GroupControl, "CreateVolume", "s", Lower, []float64{3, 4, 100}, []float64{1, 2, 2}, "", "")
	if f.Ratio != 2 {
		t.Errorf("ratio %v, want 4/2 = 2 (medians: one slow outlier must not move it)", f.Ratio)
	}
	if f.Driver.Tail(Lower) != 100 || f.Floor.Tail(Higher) != 1 {
		t.Errorf("tails %v %v", f.Driver.Tail(Lower), f.Floor.Tail(Higher))
	}
}

func complete(short bool) *Report {
	r := &Report{Meta: Meta{Mode: "short", Date: "2026-11-28T00:00:00Z", Kernel: "6.1.0"}}
	for _, k := range Expected(short) {
		group, name, _ := strings.Cut(k, "/")
		r.Figures = append(r.Figures, NewFigure(group, name, "s", Lower, []float64{2}, []float64{1}, "d", "f"))
	}
	return r
}

func TestCheckAcceptsACompleteReport(t *testing.T) {
	for _, short := range []bool{true, false} {
		if err := complete(short).Check(Expected(short)); err != nil {
			t.Errorf("short=%v: %v", short, err)
		}
	}
}

func TestCheckFindsWhatABrokenHarnessLeaves(t *testing.T) {
	cases := map[string]func(r *Report){
		"missing figure control/DeleteVolume": func(r *Report) {
			r.Figures = r.Figures[1:]
			for i, f := range r.Figures {
				if f.Name == "DeleteVolume" {
					r.Figures = append(r.Figures[:i], r.Figures[i+1:]...)
					return
				}
			}
		},
		"no floor samples":         func(r *Report) { r.Figures[2].Floor = NewSeries(nil) },
		"is not a positive number": func(r *Report) { r.Figures[3].Driver = NewSeries([]float64{0}) },
		"appears 2 times":          func(r *Report) { r.Figures = append(r.Figures, r.Figures[0]) },
		"kernel or date missing":   func(r *Report) { r.Meta.Kernel = "" },
		`better is "sideways"`:     func(r *Report) { r.Figures[0].Better = "sideways" },
	}
	for want, breakIt := range cases {
		r := complete(true)
		breakIt(r)
		err := r.Check(Expected(true))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: Check said %v", want, err)
		}
	}
}

func TestFullRunExpectsMoreThanTheShortOne(t *testing.T) {
	short, full := Expected(true), Expected(false)
	for _, k := range []string{"burst/" + BurstName(50), "healing/" + HealName(100), "list/" + ListName(100),
		"healing/" + HealName(500), "list/" + ListName(1000), "reconcile/" + ReconcileName(1000)} {
		if contains(short, k) || !contains(full, k) {
			t.Errorf("%s: in short %v, in full %v", k, contains(short, k), contains(full, k))
		}
	}
	if err := complete(true).Check(full); err == nil {
		t.Error("a short run's report passed the full run's check")
	}
}

func contains(s []string, k string) bool {
	for _, x := range s {
		if x == k {
			return true
		}
	}
	return false
}

func TestSaveAndLoadKeepEverything(t *testing.T) {
	r := complete(false)
	r.Meta.Settings = map[string]string{"repetitions": "7"}
	path := filepath.Join(t.TempDir(), "bench.json")
	if err := r.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Figures) != len(r.Figures) || got.Meta.Settings["repetitions"] != "7" || got.Figures[0].Driver.Samples[0] != 2 {
		t.Errorf("loaded %+v", got.Meta)
	}
}

func TestLoadComputesTheStatisticsFromTheSamples(t *testing.T) {
	r := complete(true)
	r.Figures[0] = Figure{Group: r.Figures[0].Group, Name: r.Figures[0].Name, Unit: "s", Better: Lower,
		Driver: Series{Samples: []float64{4, 2, 6}}, Floor: Series{Samples: []float64{1, 2, 3}, Median: 99}}
	path := filepath.Join(t.TempDir(), "bench.json")
	if err := r.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	f := got.Figures[0]
	if f.Driver.Median != 4 || f.Driver.P90 != 6 || f.Floor.Median != 2 || f.Floor.P10 != 1 || f.Ratio != 2 {
		t.Errorf("statistics not from the samples: %+v", f)
	}
}
