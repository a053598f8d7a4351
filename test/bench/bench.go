package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/test/bench/report"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/test/e2e/lifecycle"
)

// bench holds one run: the driver's connection, the names it hands out and
// the figures gathered so far.
type bench struct {
	config
	d         *lifecycle.Driver
	initiator string
	reps      int
	seq       int // makes every name of the run unique
	nextTID   int // the floors' targets: far above the tids the driver picks (lowest free)
	figures   []report.Figure
	notes     []string
	seedRates []float64     // seconds per seeded LV, one per batch (seed.go)
	seedTime  time.Duration // the batches' time together
	seeded    int           // volumes seeded so far
	seedSaid  []string      // the lvm shell's last lines other than creations
}

func newBench(c config, d *lifecycle.Driver, initiator string) *bench {
	// Five repetitions of the control and node path (about half a minute
	// each under emulation): the first of a run pays one-off costs (the
	// CHAP key's LV at the first publish, the guest's first iSCSI disk at
	// the first stage), and with three samples one such sample and one
	// slow one made the median. Most of the full run is spent making the
	// volumes healing and listing are measured with; the short run only
	// has to prove the harness works.
	b := &bench{config: c, d: d, initiator: initiator, reps: 5, nextTID: 5000}
	if c.short {
		b.reps = 1
	}
	return b
}

func (b *bench) mode() string {
	if b.short {
		return "short"
	}
	return "full"
}

// uniq returns a name no other object of the run has.
func (b *bench) uniq(what string) string {
	b.seq++
	return fmt.Sprintf("bench-%s-%d", what, b.seq)
}

// floorID is a scratch LV name for a floor: as long as the driver's ids
// (32 characters, like VolumeID and SnapshotID), so lvm's metadata grows the
// same, but with a prefix the driver does not own ("bfl-"), so neither its
// reconciler nor ListVolumes ever looks at it.
func floorID(name string) string {
	sum := sha256.Sum256([]byte(name))
	return "bfl-" + hex.EncodeToString(sum[:])[:28]
}

// floorTags are the driver's tags with "lic." replaced by "lbf.": the same
// number of tags and bytes (so lvm writes the same metadata), in a namespace
// the driver ignores: an LV tagged lic.v1 would be taken for a volume.
func floorTags(tags ...string) []string {
	out := make([]string, len(tags))
	for i, t := range tags {
		if rest, ok := strings.CutPrefix(t, "lic."); ok {
			t = "lbf." + rest
		}
		out[i] = t
	}
	return out
}

func (b *bench) floorIQN(id string) string { return "iqn.2026-11.io.csi.lbf-iscsi:" + id }

// add records a figure.
func (b *bench) add(group, name, unit, better string, driver, floor []float64, driverDoes, floorDoes string) {
	f := report.NewFigure(group, name, unit, better, driver, floor, driverDoes, floorDoes)
	b.figures = append(b.figures, f)
	say("  %s/%s: driver %.3f, floor %.3f %s (ratio %.2f)", group, name, f.Driver.Median, f.Floor.Median, unit, f.Ratio)
}

func (b *bench) note(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	b.notes = append(b.notes, s)
	say("  note: %s", s)
}

// timed runs f and returns its wall time in seconds.
func timed(f func() error) (float64, error) {
	t := time.Now()
	err := f()
	return time.Since(t).Seconds(), err
}

// cmd runs one command (an argv list, no shell) with the C locale; its
// error carries its output, with secret (a floor's throw-away CHAP
// password) masked.
func cmd(ctx context.Context, secret string, argv ...string) ([]byte, error) {
	c := exec.CommandContext(ctx, argv[0], argv[1:]...)
	c.Env = append(os.Environ(), "LC_ALL=C")
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		line := strings.Join(argv, " ") + ": " + strings.TrimSpace(stderr.String())
		if secret != "" {
			line = strings.ReplaceAll(line, secret, "***")
		}
		return out, fmt.Errorf("%s: %w", line, err)
	}
	return out, nil
}

// cmds runs commands one after the other, stopping at the first error.
func cmds(ctx context.Context, secret string, argvs ...[]string) error {
	for _, argv := range argvs {
		if _, err := cmd(ctx, secret, argv...); err != nil {
			return err
		}
	}
	return nil
}

func (b *bench) meta(wall time.Duration) report.Meta {
	m := report.Meta{
		Mode:        b.mode(),
		Date:        time.Now().UTC().Format(time.RFC3339),
		Kernel:      strings.TrimSpace(readFile("/proc/sys/kernel/osrelease")),
		CPU:         cpuModel(),
		CPUs:        runtime.NumCPU(),
		MemoryMiB:   memTotalMiB(),
		Virtualised: "native",
		Version:     b.version,
		WallSeconds: wall.Seconds(),
		Settings: map[string]string{
			"repetitions":            strconv.Itoa(b.reps) + " (control and node path, ListVolumes)",
			"burst repetitions":      b.repsOf(report.Bursts(b.short), b.burstReps),
			"healing repetitions":    b.repsOf(report.Healings(b.short), b.healReps),
			"control volume":         fmt.Sprintf("%d MiB thin, ext4", controlSize>>20),
			"burst/healing volume":   fmt.Sprintf("%d MiB thin", smallSize>>20),
			"data volume":            fmt.Sprintf("%d MiB, raw block", dataSize>>20),
			"fio runtime":            b.fioRuntime().String(),
			"fio repetitions":        strconv.Itoa(b.fioReps()),
			"volume group":           os.Getenv("E2E_VG_SIZE") + " loop file, thin pool " + os.Getenv("E2E_THIN_POOL_SIZE"),
			"lvm metadata":           "PV metadata area " + orDefault(os.Getenv("E2E_PV_METADATA_SIZE")) + ", thin pool metadata " + orDefault(os.Getenv("E2E_THIN_POOL_METADATA_SIZE")),
			"host":                   os.Getenv("E2E_BENCH_HOST"),
			"driver processes flags": "as test/e2e/guest.sh starts them (CHAP on, --max-concurrent-lvm 4)",
		},
		Observations: b.notes,
	}
	if b.seeded > 0 {
		m.Settings["seeded volumes"] = strconv.Itoa(b.seeded) + " (healing at 500, ListVolumes and reconcile at 1000: LVs written with a driver-made volume's tags, untimed)"
	}
	if os.Getenv("E2E_MODE") == "vm" {
		m.Virtualised = "qemu guest, TCG (software emulation)"
	}
	return m
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

func cpuModel() string {
	for _, line := range strings.Split(readFile("/proc/cpuinfo"), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func memTotalMiB() int {
	for _, line := range strings.Split(readFile("/proc/meminfo"), "\n") {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return kb / 1024
		}
	}
	return 0
}

// repsOf says how many repetitions each size gets, e.g. "1: 3, 10: 2".
func (b *bench) repsOf(sizes []int, reps func(int) int) string {
	var parts []string
	for _, n := range sizes {
		parts = append(parts, fmt.Sprintf("%d: %d", n, reps(n)))
	}
	return strings.Join(parts, ", ")
}

func orDefault(s string) string {
	if s == "" {
		return "lvm's default"
	}
	return s
}
