package report

import (
	"strings"
	"testing"
)

func TestRenderShowsEachFigureWithItsFloorAndRatio(t *testing.T) {
	r := &Report{Meta: Meta{Mode: "full", Date: "2026-11-28T02:00:00Z", Kernel: "6.1.0-56-amd64", CPUs: 2, CPU: "QEMU Virtual CPU",
		Virtualised: "qemu guest, TCG", Settings: map[string]string{"host": "Some CPU, 2 CPUs", "repetitions": "7"}}}
	r.Figures = []Figure{
		NewFigure(GroupControl, "CreateVolume", "s", Lower, []float64{3.5, 3.6, 9}, []float64{1, 1.1, 1.2}, "CreateVolume", "lvcreate | tags"),
		NewFigure(GroupData, DataName("thin", "4k randread QD1"), "IOPS", Higher, []float64{200, 180, 220}, []float64{1000, 900, 1100}, "fio", "fio local"),
	}
	out := Render(r, "before")
	for _, want := range []string{
		`### Run "before"`, "kernel 6.1.0-56-amd64", "Some CPU, 2 CPUs", "repetitions: 7",
		"#### Control path", "| CreateVolume | s | 3 | 3.60 | 9.00 | 1.10 | 1.20 | **3.27×** |",
		"#### Data path", "| thin: 4k randread QD1 | IOPS | 3 | 200 | 180 | 1000 | 900 | **0.20×** |",
		`lvcreate \| tags`, // a pipe in a cell would split the table
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rendered section lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "#### Bursts") {
		t.Error("a group without figures got a table")
	}
}

func TestSpliceReplacesOnlyItsSection(t *testing.T) {
	doc := "# Benchmarks\n\nhand-written\n\n<!-- bench:before begin -->\nold before\n<!-- bench:before end -->\n\ntext between\n"
	out, err := Splice(doc, "before", "new before\n")
	if err != nil {
		t.Fatal(err)
	}
	want := "# Benchmarks\n\nhand-written\n\n<!-- bench:before begin -->\nnew before\n<!-- bench:before end -->\n\ntext between\n"
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	out, err = Splice(out, "after", "after figures\n")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, want) || !strings.HasSuffix(out, "\n<!-- bench:after begin -->\nafter figures\n<!-- bench:after end -->\n") {
		t.Errorf("a new section must be appended after everything else:\n%s", out)
	}
	again, err := Splice(out, "after", "after figures\n")
	if err != nil || again != out {
		t.Errorf("splicing the same section twice changed the document (%v):\n%s", err, again)
	}
}

func TestSpliceRefusesBrokenMarkers(t *testing.T) {
	for _, doc := range []string{
		"<!-- bench:before begin -->\nno end\n",
		"no begin\n<!-- bench:before end -->\n",
	} {
		if _, err := Splice(doc, "before", "x\n"); err == nil {
			t.Errorf("no error for %q", doc)
		}
	}
}

func TestRenderLinksEachGroupsChartAfterItsTable(t *testing.T) {
	r := &Report{Meta: Meta{Mode: "short", Date: "2026-11-28T02:00:00Z", Kernel: "6.1.0-56-amd64"}}
	r.Figures = []Figure{
		NewFigure(GroupControl, "CreateVolume", "s", Lower, []float64{2}, []float64{1}, "CreateVolume", "lvcreate"),
		NewFigure(GroupNode, "NodeStageVolume", "s", Lower, []float64{2}, []float64{1}, "NodeStageVolume", "iscsiadm"),
	}
	out := RenderWithCharts(r, "before", map[string]string{GroupControl: "benchmarks/before-control.png"})
	link := "![Control path: ratio to floor](benchmarks/before-control.png)"
	i, j, k := strings.Index(out, "| CreateVolume |"), strings.Index(out, link), strings.Index(out, "#### Node path")
	if i < 0 || j < i || k < j {
		t.Errorf("the control chart's link is not between its table and the next group:\n%s", out)
	}
	if strings.Count(out, "![") != 1 {
		t.Errorf("a group without a chart got a link:\n%s", out)
	}
	if plain := Render(r, "before"); strings.Contains(plain, "![") {
		t.Errorf("Render without charts links images:\n%s", plain)
	}
}
