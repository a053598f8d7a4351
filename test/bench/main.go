// Command bench measures the driver against its floor: each figure is what
// a CSI call (or the data path through the driver's volume, or healing after
// a tgtd crash) costs, next to what the bare commands doing the same work
// cost, measured in the same run on the same volume group and tgtd, several
// times, reported as median, p90 and the ratio of the medians
// (docs/benchmarks.md says what each floor runs, and why ratios).
//
// `make bench` (full) and `make bench-short` start it inside the real-kernel
// guest (test/e2e/guest.sh, E2E_RUN=bench) against the two running driver
// processes. It writes bench.json and fails only when the harness breaks: a
// call or command erroring, or a figure missing. Numbers never fail it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/test/bench/report"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/test/e2e/lifecycle"
)

func main() {
	var c config
	flag.StringVar(&c.controller, "controller-endpoint", "", "controller plugin endpoint, unix:///path")
	flag.StringVar(&c.node, "node-endpoint", "", "node plugin endpoint, unix:///path")
	flag.StringVar(&c.root, "root", "", "directory below the node plugin's --kubelet-dir for staging and target paths")
	flag.StringVar(&c.vg, "volume-group", "", "the controller's volume group; the floors make their scratch LVs in it")
	flag.StringVar(&c.pool, "thin-pool", "pool", "the controller's thin pool")
	flag.IntVar(&c.controlPort, "tgt-control-port", 0, "the controller's tgtd control port (tgtadm -C)")
	flag.IntVar(&c.floorControlPort, "floor-tgt-control-port", 9, "control port of the second tgtd the healing floor starts")
	flag.StringVar(&c.portal, "portal", "127.0.0.1:3260", "the controller's portal")
	flag.StringVar(&c.floorPortal, "floor-portal", "127.0.0.1:3261", "portal of the second tgtd the healing floor starts")
	flag.StringVar(&c.restartTgtd, "restart-tgtd", "", "the harness's kill -9 and restart of tgtd (test/e2e/guest.sh)")
	flag.StringVar(&c.initiatorFile, "initiator-name-file", "/etc/iscsi/initiatorname.iscsi", "this node's initiator name, which the floors bind")
	flag.StringVar(&c.controllerMetrics, "controller-metrics", "", "the controller's metrics endpoint (http://host:port/metrics), read for the reconcile pass's duration")
	flag.StringVar(&c.out, "out", "bench.json", "where the results go")
	flag.StringVar(&c.version, "version", "", "the driver version measured (git describe), recorded in the results")
	flag.BoolVar(&c.short, "short", false, "the short run CI makes: few repetitions, bursts of 1 and 10, healing of 10, tiny fio runtimes")
	flag.StringVar(&c.sweep, "sweep", "", "datapath: only the data-path sweep (make bench-datapath), written to -out and beside it as .md")
	flag.StringVar(&c.only, "only", "", "run only this phase (control, data or scale) to iterate on it; the results are then not checked for completeness")
	check := flag.String("check", "", "only check that this bench.json holds every figure of the mode (-short) and exit")
	flag.Parse()

	if *check != "" {
		r, err := report.Load(*check)
		if err == nil {
			err = r.Check(report.Expected(c.short))
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			os.Exit(1)
		}
		fmt.Printf("bench: %s holds all %d figures\n", *check, len(r.Figures))
		return
	}
	if err := run(c); err != nil {
		fmt.Fprintf(os.Stderr, "bench: FAILED: %v\n", err)
		os.Exit(1)
	}
}

type config struct {
	controller, node, root, vg, pool string
	controlPort, floorControlPort    int
	portal, floorPortal              string
	restartTgtd, initiatorFile       string
	controllerMetrics                string
	out, version                     string
	short                            bool
	sweep                            string
	only                             string
}

func run(c config) error {
	start := time.Now()
	if c.controller == "" || c.node == "" || c.root == "" || c.vg == "" || c.restartTgtd == "" {
		return fmt.Errorf("-controller-endpoint, -node-endpoint, -root, -volume-group and -restart-tgtd are required")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Hour)
	defer cancel()
	initiator, err := readInitiator(c.initiatorFile)
	if err != nil {
		return err
	}
	d, err := lifecycle.Connect(ctx, c.controller, c.node, c.root)
	if err != nil {
		return err
	}
	defer d.Close()
	b := newBench(c, d, initiator)
	switch c.sweep {
	case "":
	case "datapath":
		say("bench: data-path sweep, node %s", d.NodeID)
		return b.sweepDataPath(ctx, start)
	default:
		return fmt.Errorf("-sweep %q: the only sweep is datapath", c.sweep)
	}
	say("bench: %s run, %d repetitions, node %s", b.mode(), b.reps, d.NodeID)

	phases := []phase{
		{"control", "control and node path", b.controlPath},
		{"data", "data path", b.dataPath},
		{"scale", "bursts, healing and listing", b.scale},
	}
	if c.only != "" && !slices.ContainsFunc(phases, func(p phase) bool { return p.key == c.only }) {
		return fmt.Errorf("-only %q: the phases are control, data and scale", c.only)
	}
	for _, p := range phases {
		if c.only != "" && p.key != c.only {
			continue
		}
		t := time.Now()
		say("=== %s", p.name)
		if err := p.run(ctx); err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		say("=== %s done in %s", p.name, time.Since(t).Round(time.Second))
	}
	r := &report.Report{Meta: b.meta(time.Since(start)), Figures: b.figures}
	if err := r.Save(c.out); err != nil {
		return err
	}
	if c.only != "" {
		say("bench: -only %s: the other phases' figures are missing; not checked", c.only)
	} else if err := r.Check(report.Expected(c.short)); err != nil {
		return err
	}
	for _, f := range r.Figures {
		say("%-8s %-48s driver %9.3f  floor %9.3f %-5s ratio %.2f", f.Group, f.Name, f.Driver.Median, f.Floor.Median, f.Unit, f.Ratio)
	}
	say("bench: %d figures written to %s in %s", len(r.Figures), c.out, time.Since(start).Round(time.Second))
	return nil
}

// phase is one group of figures of a run; key names it for -only.
type phase struct {
	key, name string
	run       func(context.Context) error
}

func say(format string, args ...any) {
	fmt.Printf("[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func readInitiator(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "InitiatorName="); ok && v != "" {
			return v, nil
		}
	}
	return "", fmt.Errorf("%s names no initiator", path)
}
