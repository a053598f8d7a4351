package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseProcStatSumsTheMachinesTicks(t *testing.T) {
	// user nice system idle iowait irq softirq steal guest guest_nice
	c, err := parseProcStat("cpu  100 5 40 800 20 3 7 0 50 0\ncpu0 50 2 20 400 10 1 3 0 25 0\n")
	if err != nil {
		t.Fatal(err)
	}
	if c.user != 105 || c.system != 43 || c.softirq != 7 || c.iowait != 20 || c.idle != 800 {
		t.Errorf("got %+v", c)
	}
	// guest time is counted inside user already: not added again.
	if c.total != 100+5+40+800+20+3+7+0 {
		t.Errorf("total %d", c.total)
	}
	if _, err := parseProcStat("intr 1 2 3\n"); err == nil {
		t.Error("a /proc/stat without its cpu line was accepted")
	}
}

func TestParseProcPidStatCountsFieldsAfterTheCommandName(t *testing.T) {
	// A command name with a space and a ')' must not shift the fields.
	line := "4242 (tg td) x)) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 567 0 0 20 0 17 0 100 0 0"
	u, s, err := parseProcPidStat(line)
	if err != nil || u != 1234 || s != 567 {
		t.Errorf("got utime %d stime %d, %v; want 1234 567", u, s, err)
	}
	if _, _, err := parseProcPidStat("4242 (tgtd) S 1"); err == nil {
		t.Error("a truncated line was accepted")
	}
}

func TestShareBetweenIsPercentOfOneCPU(t *testing.T) {
	t0 := time.Unix(0, 0)
	a := cpuTimes{at: t0}
	// 2 s on 2 CPUs: 400 ticks in all; half of them idle.
	b := cpuTimes{at: t0.Add(2 * time.Second), user: 100, system: 60, softirq: 40, idle: 200, total: 400, tgtdUser: 30, tgtdSystem: 10}
	s := shareBetween(a, b, 2)
	if s.Idle != 100 || s.Busy != 100 || s.User != 50 || s.System != 30 || s.Softirq != 20 {
		t.Errorf("machine shares %+v", s)
	}
	// 30 ticks of tgtd in 2 s are 15 % of one CPU.
	if s.TgtdUser != 15 || s.TgtdSystem != 5 {
		t.Errorf("tgtd shares %+v", s)
	}
}

func TestSweepRatiosAreOverTheFloorsMean(t *testing.T) {
	r := &sweepReport{
		Jobs:  []string{"1M seqread QD16", "4k randread QD32"},
		Floor: map[string][]float64{"1M seqread QD16": {800, 1200}, "4k randread QD32": {10000}},
		Configs: []sweepResult{
			{Name: "defaults", Values: map[string]float64{"1M seqread QD16": 100, "4k randread QD32": 2500}},
			{Name: "broken", Error: "tgtadm: invalid request"},
		},
	}
	r.ratios()
	if got := r.Configs[0].Ratios["1M seqread QD16"]; got != 0.1 {
		t.Errorf("seqread ratio %v, want 100/mean(800,1200) = 0.1", got)
	}
	if got := r.Configs[0].Ratios["4k randread QD32"]; got != 0.25 {
		t.Errorf("randread ratio %v, want 0.25", got)
	}
	md := r.render()
	for _, want := range []string{"| defaults | 100 **0.10×** | 2500 **0.25×** |", "| broken | – | – |", "- broken: tgtadm: invalid request", "| local LV (floor, mean of 2) | 1000 | 10000 |"} {
		if !strings.Contains(md, want) {
			t.Errorf("the table lacks %q:\n%s", want, md)
		}
	}
}

// Every configuration of the sweep has a distinct name, and there is a
// driver row (the driver as it is) next to tgt's defaults.
func TestSweepConfigsAreDistinct(t *testing.T) {
	seen := map[string]bool{}
	drivers := 0
	for _, c := range sweepConfigs() {
		if seen[c.name] || c.name == "" || c.what == "" {
			t.Errorf("configuration %q: duplicate or unnamed or undescribed", c.name)
		}
		seen[c.name] = true
		if c.driver {
			drivers++
		}
	}
	if drivers < 1 || !seen["defaults"] || !seen["driver"] {
		t.Errorf("want a driver row and a defaults row, got %d driver rows", drivers)
	}
}
