package main

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/test/bench/report"
)

// smallRun is a bench.json-like input: two control-path figures at 1.0 and
// 2.0 times their floor (the second with a slower tail), one data-path
// figure at half its floor's throughput.
const smallRun = `{
  "meta": {"mode": "short", "date": "2026-11-28T02:44:35Z", "kernel": "6.1.0-56-amd64", "cpus": 2, "version": "abc1234"},
  "figures": [
    {"group": "control", "name": "CreateVolume", "unit": "s", "better": "lower",
     "driver": {"samples": [1.0, 1.0, 1.0]}, "floor": {"samples": [1.0, 1.0, 1.0]}},
    {"group": "control", "name": "DeleteVolume", "unit": "s", "better": "lower",
     "driver": {"samples": [2.0, 2.0, 3.0]}, "floor": {"samples": [1.0, 1.0, 1.0]}},
    {"group": "data", "name": "thin: 4k randread QD1", "unit": "IOPS", "better": "higher",
     "driver": {"samples": [500, 400]}, "floor": {"samples": [900, 1100]}}
  ]
}`

func loadSmallRun(t *testing.T) *report.Report {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bench.json")
	if err := os.WriteFile(path, []byte(smallRun), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := report.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func decode(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("the chart is not a PNG: %v", err)
	}
	return img
}

// barLength counts the pixels of the bar colour along a row just inside the
// top edge of bar i (above the thin tail mark, which runs through the middle).
func barLength(img image.Image, i int) int {
	y := barTop(i) + 1
	n := 0
	for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
		r, g, b, _ := img.At(x, y).RGBA()
		br, bg, bb, _ := barColour.RGBA()
		if r == br && g == bg && b == bb {
			n++
		}
	}
	return n
}

func TestChartBarsAreProportionalToTheRatio(t *testing.T) {
	r := loadSmallRun(t)
	charts, err := renderCharts(r, "before")
	if err != nil {
		t.Fatal(err)
	}
	if len(charts) != 2 || charts[0].group != report.GroupControl || charts[1].group != report.GroupData {
		t.Fatalf("want one chart per group with figures (control, data), got %d", len(charts))
	}
	if charts[0].file != "before-control.png" || charts[1].file != "before-data.png" {
		t.Errorf("file names %q, %q", charts[0].file, charts[1].file)
	}
	img := decode(t, charts[0].png)
	if got := img.Bounds().Size(); got != image.Pt(chartWidth, headerHeight+2*rowHeight+footerHeight) {
		t.Errorf("a chart of 2 figures is %v, want %dx%d", got, chartWidth, headerHeight+2*rowHeight+footerHeight)
	}
	one, two := barLength(img, 0), barLength(img, 1)
	if one < 20 {
		t.Fatalf("the bar of ratio 1.0 is %d px long", one)
	}
	if two != 2*one {
		t.Errorf("the bar of ratio 2.0 is %d px, the bar of 1.0 %d px: want exactly twice", two, one)
	}
	data := decode(t, charts[1].png)
	if got := data.Bounds().Size(); got != image.Pt(chartWidth, headerHeight+rowHeight+footerHeight) {
		t.Errorf("a chart of 1 figure is %v", got)
	}
	// 450 / 1000 = 0.45 of the floor: a bar shorter than the floor line.
	if half := barLength(data, 0); half == 0 {
		t.Error("the throughput bar is not drawn")
	}
}

func TestChartsAreTheSameBytesForTheSameRun(t *testing.T) {
	a, err := renderCharts(loadSmallRun(t), "before")
	if err != nil {
		t.Fatal(err)
	}
	b, err := renderCharts(loadSmallRun(t), "before")
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if !bytes.Equal(a[i].png, b[i].png) {
			t.Errorf("%s differs between two renderings of the same run", a[i].file)
		}
	}
}

// completeRun is a short run with every figure it must have (what run
// checks before writing anything).
func completeRun(t *testing.T) string {
	t.Helper()
	r := &report.Report{Meta: report.Meta{Mode: "short", Date: "2026-11-28T02:44:35Z", Kernel: "6.1.0-56-amd64"}}
	for i, k := range report.Expected(true) {
		group, name, _ := strings.Cut(k, "/")
		better := report.Lower
		if group == report.GroupData {
			better = report.Higher
		}
		r.Figures = append(r.Figures, report.NewFigure(group, name, "s", better,
			[]float64{float64(i + 2), float64(i + 3)}, []float64{float64(i + 1)}, "driver", "floor"))
	}
	path := filepath.Join(t.TempDir(), "bench.json")
	if err := r.Save(path); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRunWritesTheChartsAndLinksThem(t *testing.T) {
	dir := t.TempDir()
	doc := filepath.Join(dir, "benchmarks.md")
	if err := run(completeRun(t), doc, "before"); err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{"control", "burst", "node", "data", "healing", "list"} {
		file := "before-" + g + ".png"
		b, err := os.ReadFile(filepath.Join(dir, "benchmarks", file))
		if err != nil {
			t.Errorf("chart of %s not written: %v", g, err)
			continue
		}
		decode(t, b)
		if !strings.Contains(string(text), "](benchmarks/"+file+")") {
			t.Errorf("the section does not link %s:\n%s", file, text)
		}
	}
}
