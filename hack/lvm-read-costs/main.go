// lvm-read-costs measures what the controller's one lvs per call costs and
// what the two ways of avoiding it would cost instead (docs/benchmarks.md,
// "What removing the two lvs would take"). It runs as root on a machine with
// device-mapper (the real-kernel guest: make lvm-read-costs), makes its own
// loop-file volume group with a thin pool, and prints one Markdown report:
//
//   - the start of an lvm process alone (lvm version), and an lvs of the VG
//     with the driver's arguments;
//   - the same lvs typed into one resident lvm shell (the mode lvmdbusd
//     uses), per command;
//   - how many metadata commits each of the driver's lvm changes makes,
//     read twice: vgs -o vg_seqno, and this program reading the committed
//     metadata's seqno straight from the PV (label, metadata area header,
//     start of the text), which is what a cache of the VG would check before
//     trusting itself;
//   - what that direct read costs.
package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	utilexec "k8s.io/utils/exec"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/driver"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner"
)

// recordingExec runs commands as utilexec does and keeps the last command
// line, so that the lvm shell is typed exactly the lvs pkg/lvm runs.
type recordingExec struct {
	utilexec.Interface
	last []string
}

func (e *recordingExec) CommandContext(ctx context.Context, cmd string, args ...string) utilexec.Cmd {
	e.last = append([]string{cmd}, args...)
	return e.Interface.CommandContext(ctx, cmd, args...)
}

func main() {
	out := flag.String("out", "", "write the report here as well as to stdout")
	dir := flag.String("dir", os.TempDir(), "directory for the loop file")
	vg := flag.String("vg", "lrc", "name of the scratch volume group")
	lvs := flag.Int("lvs", 20, "thin LVs in the VG before measuring")
	reps := flag.Int("n", 5, "repetitions of each timed command")
	flag.Parse()
	if *lvs < 1 || *reps < 1 {
		fmt.Fprintln(os.Stderr, "lvm-read-costs: -lvs and -n must be at least 1")
		os.Exit(2)
	}
	ctx := context.Background()
	rec := &recordingExec{Interface: utilexec.New()}
	r := runner.New(rec, 0)
	m := &measure{vg: *vg, reps: *reps, rec: rec, r: r,
		// The driver's lvm: its report, its default --lvm-global-filter.
		lvm: lvm.New(r, 1, lvm.WithGlobalFilter(driver.DefaultLVMGlobalFilter))}
	report, err := m.setUpAndRun(ctx, *dir, *lvs)
	if err == nil && *out != "" {
		err = os.WriteFile(*out, []byte(report), 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "lvm-read-costs:", err)
		os.Exit(1)
	}
	fmt.Print(report)
}

// setUpAndRun measures on a scratch VG, which it removes whatever happens.
func (m *measure) setUpAndRun(ctx context.Context, dir string, lvs int) (string, error) {
	defer m.tearDown(ctx)
	if err := m.setUp(ctx, dir, lvs); err != nil {
		return "", err
	}
	return m.measure(ctx)
}

type measure struct {
	vg, file, pv string
	reps         int
	madeVG       bool // the VG is this program's: an existing one of the name is never removed
	rec          *recordingExec
	r            *runner.Runner
	lvm          *lvm.LVM
}

// run runs one command line; the scratch VG's own commands need no
// --config, as nothing but its loop device is there to scan.
func (m *measure) run(ctx context.Context, argv ...string) ([]byte, error) {
	return m.r.Run(ctx, argv[0], argv[1:]...)
}

func (m *measure) setUp(ctx context.Context, dir string, n int) error {
	path := filepath.Join(dir, "lvm-read-costs.img")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600) // never someone else's file
	if err != nil {
		return err
	}
	m.file = path
	err = f.Truncate(4 << 30)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	out, err := m.run(ctx, "losetup", "-f", "--show", m.file)
	if err != nil {
		return err
	}
	m.pv = strings.TrimSpace(string(out))
	if _, err := m.run(ctx, "vgcreate", "-y", m.vg, m.pv); err != nil {
		return err
	}
	m.madeVG = true
	steps := [][]string{{"lvcreate", "-y", "-L", "2g", "-T", m.vg + "/pool"}}
	for i := 0; i < n; i++ {
		steps = append(steps, []string{"lvcreate", "-y", "-V", "64m", "-T", m.vg + "/pool", "-n", fmt.Sprintf("v%03d", i), "--addtag", "lic.v1"})
	}
	for _, s := range steps {
		if _, err := m.run(ctx, s...); err != nil {
			return err
		}
	}
	return nil
}

func (m *measure) tearDown(ctx context.Context) {
	if m.madeVG {
		_, _ = m.run(ctx, "vgremove", "-y", "-f", m.vg)
	}
	if m.pv != "" {
		_, _ = m.run(ctx, "losetup", "-d", m.pv)
	}
	if m.file != "" {
		_ = os.Remove(m.file)
	}
}

// timed runs call reps times and returns the median duration.
func (m *measure) timed(call func() error) (time.Duration, error) {
	var ds []time.Duration
	for i := 0; i < m.reps; i++ {
		t0 := time.Now()
		if err := call(); err != nil {
			return 0, err
		}
		ds = append(ds, time.Since(t0))
	}
	return median(ds), nil
}

func median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// shell runs lines in one lvm shell (stdin a pipe) and returns how long
// the whole session took, once each line has printed a row with want in it
// (the shell's exit status does not say whether its commands worked).
func shell(ctx context.Context, lines []string, want string) (time.Duration, error) {
	cmd := exec.CommandContext(ctx, "lvm")
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	t0 := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("lvm shell: %w: %s", err, stderr.String())
	}
	took := time.Since(t0)
	if got := strings.Count(stdout.String(), want); got != len(lines) {
		return 0, fmt.Errorf("lvm shell: %d of %d commands printed %q; stderr: %s", got, len(lines), want, stderr.String())
	}
	return took, nil
}

func (m *measure) measure(ctx context.Context) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "## lvm-read-costs\n\nVG %s on %s, a thin pool and its thin LVs; median of %d.\n\n", m.vg, m.pv, m.reps)
	start, err := m.timed(func() error { _, err := m.run(ctx, "lvm", "version"); return err })
	if err != nil {
		return "", err
	}
	lvs, err := m.timed(func() error { _, err := m.lvm.ListLVs(ctx, m.vg); return err })
	if err != nil {
		return "", err
	}
	line, err := shellLine(m.rec.last)
	if err != nil {
		return "", err
	}
	want := "/dev/" + m.vg + "/v000" // the first LV's path, in every listing
	var empty, full []time.Duration
	for i := 0; i < m.reps; i++ {
		e, err := shell(ctx, nil, want)
		if err != nil {
			return "", err
		}
		f, err := shell(ctx, slices.Repeat([]string{line}, 5), want)
		if err != nil {
			return "", err
		}
		empty, full = append(empty, e), append(full, f)
	}
	perShell := (median(full) - median(empty)) / 5
	fmt.Fprintf(&b, "| what | time |\n| --- | ---: |\n")
	fmt.Fprintf(&b, "| `lvm version` (an lvm process starting and stopping) | %s |\n", ms(start))
	fmt.Fprintf(&b, "| `lvs` of the VG, the driver's arguments | %s |\n", ms(lvs))
	fmt.Fprintf(&b, "| an lvm shell starting and stopping | %s |\n", ms(median(empty)))
	fmt.Fprintf(&b, "| `lvs` typed into a resident lvm shell, per command (5 in one shell) | %s |\n", ms(perShell))

	var probes []time.Duration
	for i := 0; i < 100; i++ {
		t0 := time.Now()
		if _, err := readSeqno(m.pv); err != nil {
			return "", err
		}
		probes = append(probes, time.Since(t0))
	}
	fmt.Fprintf(&b, "| the committed metadata's seqno read from the PV, in process (median of 100) | %s |\n\n", ms(median(probes)))

	commits, err := m.commits(ctx)
	if err != nil {
		return "", err
	}
	b.WriteString(commits)
	return b.String(), nil
}

// shellLine is argv as the lvm shell reads a line: words split at blanks,
// so an argument with blanks (--config's value) goes in single quotes.
// The report format is the shell's, set when it starts: --reportformat is
// left out.
func shellLine(argv []string) (string, error) {
	var words []string
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		switch {
		case a == "--reportformat":
			i++
			continue
		case strings.Contains(a, "'"):
			return "", fmt.Errorf("argument %q cannot be quoted for the lvm shell", a)
		case strings.ContainsAny(a, " \t"):
			a = "'" + a + "'"
		}
		words = append(words, a)
	}
	return strings.Join(words, " "), nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// commits runs each of the driver's kinds of lvm change once and reports
// how far each moved the VG's seqno, read by vgs and from the disk.
func (m *measure) commits(ctx context.Context) (string, error) {
	vg := m.vg
	steps := []struct {
		what string
		argv []string
	}{
		{"CreateVolume, thin: lvcreate -V --thinpool with tags", []string{"lvcreate", "-y", "--wipesignatures", "y", "-n", "a1", "-V", "64m", "--thinpool", "pool", "--addtag", "lic.v1", vg}},
		{"ControllerPublishVolume: lvchange --addtag", []string{"lvchange", "--addtag", "lic.pub=x", vg + "/a1"}},
		{"ControllerUnpublishVolume: lvchange --deltag", []string{"lvchange", "--deltag", "lic.pub=x", vg + "/a1"}},
		{"lvchange -an", []string{"lvchange", "-an", vg + "/a1"}},
		{"lvchange -ay", []string{"lvchange", "-ay", vg + "/a1"}},
		{"CreateSnapshot: lvcreate -s", []string{"lvcreate", "-y", "-n", "s1", "-s", vg + "/a1", "--addtag", "lic.v1"}},
		{"clone: lvcreate -s --setactivationskip n", []string{"lvcreate", "-y", "-n", "c1", "-s", vg + "/a1", "--setactivationskip", "n", "--addtag", "lic.v1"}},
		{"ControllerExpandVolume: lvextend", []string{"lvextend", "-L", "128m", vg + "/a1"}},
		{"DeleteVolume, thin: lvremove", []string{"lvremove", "-y", vg + "/c1"}},
		{"CreateVolume, thick: lvcreate -L -Zy", []string{"lvcreate", "-y", "--wipesignatures", "y", "-Zy", "-n", "t1", "-L", "64m", vg}},
	}
	var b strings.Builder
	b.WriteString("| lvm change | commits (vgs) | commits (read from the PV) |\n| --- | ---: | ---: |\n")
	for _, s := range steps {
		v0, d0, err := m.seqnos(ctx)
		if err != nil {
			return "", err
		}
		if _, err := m.run(ctx, s.argv...); err != nil {
			return "", err
		}
		v1, d1, err := m.seqnos(ctx)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "| %s | %d | %d |\n", s.what, v1-v0, d1-d0)
	}
	return b.String(), nil
}

// seqnos reads the VG's seqno through vgs and from the PV.
func (m *measure) seqnos(ctx context.Context) (viaVGs, fromDisk uint64, err error) {
	out, err := m.run(ctx, "vgs", "--noheadings", "-o", "vg_seqno", m.vg)
	if err != nil {
		return 0, 0, err
	}
	if viaVGs, err = strconv.ParseUint(strings.TrimSpace(string(out)), 10, 64); err != nil {
		return 0, 0, err
	}
	if fromDisk, err = readSeqno(m.pv); err != nil {
		return 0, 0, err
	}
	if fromDisk != viaVGs {
		// The direct read is only worth measuring if it reads what lvm does.
		return 0, 0, fmt.Errorf("seqno %d read from %s, %d by vgs", fromDisk, m.pv, viaVGs)
	}
	return viaVGs, fromDisk, nil
}

// On-disk layout of an LVM2 PV (lvm2's lib/format_text/layout.h and
// lib/label/label.h): a label in one of the first four sectors, its PV
// header listing data areas then metadata areas (each list ended by a zero
// entry), and at each metadata area's start a 512-byte header whose first
// raw location is the committed metadata text, a circular buffer after the
// header.
const (
	sector        = 512
	mdaHeaderSize = 512
	labelID       = "LABELONE"
	mdaMagic      = " LVM2 x[5A%r0N*>"
)

var seqnoRE = regexp.MustCompile(`\nseqno = ([0-9]+)\n`)

// readSeqno returns the seqno of the committed metadata in pv's first
// metadata area, read with O_DIRECT (lvm writes with it; nothing cached).
func readSeqno(pv string) (uint64, error) {
	f, err := os.OpenFile(pv, os.O_RDONLY|syscall.O_DIRECT, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	head, err := readAligned(f, 0, 4*sector)
	if err != nil {
		return 0, err
	}
	var label []byte
	for s := 0; s < 4; s++ {
		if string(head[s*sector:s*sector+8]) == labelID {
			label = head[s*sector : (s+1)*sector]
			break
		}
	}
	if label == nil {
		return 0, errors.New("no LVM2 label")
	}
	off := binary.LittleEndian.Uint32(label[20:24])
	if off < 32 || off >= sector {
		return 0, fmt.Errorf("PV header at %d of the label", off)
	}
	pvh := label[off:]
	p := 32 + 8 // PV uuid, device size
	for p+16 <= len(pvh) && binary.LittleEndian.Uint64(pvh[p:]) != 0 {
		p += 16 // data areas
	}
	p += 16
	if p+16 > len(pvh) {
		return 0, errors.New("PV header without a metadata area list")
	}
	mdaStart := binary.LittleEndian.Uint64(pvh[p:])
	if mdaStart == 0 {
		return 0, errors.New("no metadata area on this PV")
	}
	hdr, err := readAligned(f, int64(mdaStart), mdaHeaderSize)
	if err != nil {
		return 0, err
	}
	if string(hdr[4:20]) != mdaMagic {
		return 0, errors.New("bad metadata area magic")
	}
	mdaSize := binary.LittleEndian.Uint64(hdr[32:40])
	textOff := binary.LittleEndian.Uint64(hdr[40:48])
	textSize := binary.LittleEndian.Uint64(hdr[48:56])
	n := min(textSize, 1024) // seqno is in the text's first lines
	text, err := readAligned(f, int64(mdaStart+textOff), int(min(n, mdaSize-textOff)))
	if err != nil {
		return 0, err
	}
	if wrapped := n - uint64(len(text)); wrapped > 0 {
		rest, err := readAligned(f, int64(mdaStart+mdaHeaderSize), int(wrapped))
		if err != nil {
			return 0, err
		}
		text = append(text, rest...)
	}
	match := seqnoRE.FindSubmatch(text)
	if match == nil {
		return 0, errors.New("no seqno at the start of the metadata text")
	}
	return strconv.ParseUint(string(match[1]), 10, 64)
}

// readAligned reads n bytes at off through an O_DIRECT descriptor, which
// wants the offset, length and buffer aligned to the block size.
func readAligned(f *os.File, off int64, n int) ([]byte, error) {
	const align = 4096
	start := off &^ (align - 1)
	length := (int(off-start) + n + align - 1) &^ (align - 1)
	buf := make([]byte, length+align)
	shift := (align - int(uintptr(unsafe.Pointer(&buf[0]))&(align-1))) & (align - 1)
	buf = buf[shift : shift+length]
	if _, err := f.ReadAt(buf, start); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return buf[off-start : off-start+int64(n)], nil
}
