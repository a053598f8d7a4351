//go:build e2e

package e2e

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// world is everything the driver's two processes own on this machine, as
// the tools show it, one sorted line per object, without what changes from
// one run of the same request to the next (target ids, session ids, SCSI
// device names, times, CHAP secrets):
//
//	lv       every LV of the volume group: size, type, pool, origin, tags
//	target   every tgtd target: LUNs (backing store, serial, size), bound
//	         initiators and accounts, address ACLs, logged-in initiators
//	account  every tgtd CHAP account
//	session  every iSCSI session of this host, and every node record
//	         with its startup mode and authentication method
//	disk     every iSCSI disk the kernel has (its by-path link)
//	mount    every mount below the tests' root
//	file     the controller's CHAP files and the node's stage records
//
// Two worlds are equal when a crash and a retry left exactly what a clean
// call leaves: nothing leaked, nothing lost.
type world []string

func (w world) diff(want world) string {
	var b strings.Builder
	for _, l := range want {
		if !slices.Contains(w, l) {
			fmt.Fprintf(&b, "  missing: %s\n", l)
		}
	}
	for _, l := range w {
		if !slices.Contains(want, l) {
			fmt.Fprintf(&b, "  extra:   %s\n", l)
		}
	}
	return b.String()
}

var (
	controllerStateDir = flag.String("controller-state-dir", "", "the controller's --state-dir")
	nodeStateDir       = flag.String("node-state-dir", "", "the node plugin's --state-dir")
)

// observe reads the world; an error means a tool failed to answer.
func observe(ctx context.Context) (world, error) {
	var w world
	for _, part := range []func(context.Context) ([]string, error){observeLVs, observeTgtd, observeInitiator, observeMounts, observeFiles} {
		lines, err := part(ctx)
		if err != nil {
			return nil, err
		}
		w = append(w, lines...)
	}
	slices.Sort(w)
	return w, nil
}

// sessionPortal reads "tcp: [3] 127.0.0.1:3260,1 iqn... (non-flash)".
var sessionPortal = regexp.MustCompile(`\[\d+\] (\S+),\d+ (\S+)`)

func output(ctx context.Context, argv ...string) (string, int, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return string(out), exit.ExitCode(), fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, exit.Stderr)
	}
	if err != nil {
		return "", -1, fmt.Errorf("%s: %v", strings.Join(argv, " "), err)
	}
	return string(out), 0, nil
}

// lvmNoISCSI keeps the tests' lvm commands off the iSCSI disks, as the
// driver's own (--lvm-global-filter): scanning them is slow under
// emulation, and a volume's disk would show the PVs inside it.
const lvmNoISCSI = `--config=devices { global_filter = [ "r|^/dev/disk/by-path/.*-iscsi-.*|" ] }`

func observeLVs(ctx context.Context) ([]string, error) {
	out, _, err := output(ctx, "lvs", lvmNoISCSI, "--noheadings", "--separator", "|", "--units", "b", "--nosuffix",
		"-o", "lv_name,lv_size,lv_attr,pool_lv,origin,lv_tags", *volumeGroup)
	if err != nil {
		return nil, err
	}
	var lines []string
	for _, row := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Split(strings.TrimSpace(row), "|")
		if len(f) != 6 {
			continue
		}
		tags := strings.Split(f[5], ",")
		for i, tag := range tags {
			if strings.HasPrefix(tag, "lic.time=") {
				tags[i] = "lic.time=<time>"
			}
		}
		slices.Sort(tags)
		typ := f[2][:1] // lv_attr's first letter: V thin, s snapshot, - linear, t pool
		lines = append(lines, fmt.Sprintf("lv %s size=%s type=%s pool=%s origin=%s tags=%s", f[0], f[1], typ, f[3], f[4], strings.Join(tags, ",")))
	}
	return lines, nil
}

func observeTgtd(ctx context.Context) ([]string, error) {
	targets, err := tgtClient().ListTargets(ctx)
	if err != nil {
		return nil, err
	}
	accounts, err := tgtClient().ListAccounts(ctx)
	if err != nil {
		return nil, err
	}
	var lines []string
	for _, t := range targets {
		var luns, sessions []string
		for _, l := range t.LUNs {
			luns = append(luns, fmt.Sprintf("%d:%s:sn=%s:id=%s:size=%d:thin=%v:online=%v", l.Number, l.BackingStore, l.SCSISN, l.SCSIID, l.Size, l.ThinProvisioning, l.Online))
		}
		for _, s := range t.Sessions {
			sessions = append(sessions, s.Initiator)
		}
		for _, list := range [][]string{luns, t.InitiatorNames, t.Accounts, t.ACLs, sessions} {
			slices.Sort(list)
		}
		lines = append(lines, fmt.Sprintf("target %s state=%s luns=%v initiators=%v accounts=%v acls=%v sessions=%v",
			t.IQN, t.State, luns, t.InitiatorNames, t.Accounts, t.ACLs, sessions))
	}
	for _, a := range accounts {
		lines = append(lines, "account "+a)
	}
	return lines, nil
}

// observeInitiator lists sessions and node records (exit 21: none) and the
// iSCSI disks.
func observeInitiator(ctx context.Context) ([]string, error) {
	var lines []string
	out, code, err := output(ctx, "iscsiadm", "-m", "session")
	if err != nil && code != 21 {
		return nil, err
	}
	for _, m := range sessionPortal.FindAllStringSubmatch(out, -1) {
		lines = append(lines, "session "+m[1]+" "+m[2])
	}
	out, code, err = output(ctx, "iscsiadm", "-m", "node")
	if err != nil && code != 21 {
		return nil, err
	}
	for _, rec := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(rec)
		if len(f) != 2 {
			continue
		}
		portal, _, _ := strings.Cut(f[0], ",")
		settings, _, err := output(ctx, "iscsiadm", "-m", "node", "-T", f[1], "-p", portal)
		if err != nil {
			return nil, err
		}
		var startup, auth string
		for _, s := range strings.Split(settings, "\n") {
			k, v, _ := strings.Cut(s, " = ")
			switch k {
			case "node.startup":
				startup = v
			case "node.session.auth.authmethod":
				auth = v
			}
		}
		lines = append(lines, fmt.Sprintf("record %s %s startup=%s auth=%s", portal, f[1], startup, auth))
	}
	links, _ := filepath.Glob("/dev/disk/by-path/*-iscsi-*")
	for _, l := range links {
		lines = append(lines, "disk "+filepath.Base(l))
	}
	return lines, nil
}

// observeMounts lists the mounts below -root by their disk's by-path link,
// not the device name, which changes with every login.
func observeMounts(ctx context.Context) ([]string, error) {
	out, _, err := output(ctx, "findmnt", "-rn", "-o", "TARGET,SOURCE,FSTYPE")
	if err != nil {
		return nil, err
	}
	byDevice := map[string]string{}
	links, _ := filepath.Glob("/dev/disk/by-path/*")
	for _, l := range links {
		if dev, err := filepath.EvalSymlinks(l); err == nil {
			byDevice[dev] = filepath.Base(l)
		}
	}
	var lines []string
	for _, row := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(row)
		if len(f) != 3 || !strings.HasPrefix(f[0], *root+"/") {
			continue
		}
		src := f[1]
		if name, ok := byDevice[src]; ok {
			src = name
		}
		lines = append(lines, fmt.Sprintf("mount %s %s %s", f[0], src, f[2]))
	}
	return lines, nil
}

func observeFiles(context.Context) ([]string, error) {
	var lines []string
	for _, dir := range []string{filepath.Join(*controllerStateDir, "chap"), filepath.Join(*nodeStateDir, "staged")} {
		entries, err := os.ReadDir(dir)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		for _, e := range entries {
			lines = append(lines, "file "+filepath.Join(dir, e.Name()))
		}
	}
	return lines, nil
}

// expectWorld waits until the world is want: the reconciler and udev may
// still be finishing what the call started. It fails the test with the
// difference when that does not happen in time.
func expectWorld(t *testing.T, want world, what string) {
	t.Helper()
	deadline := time.Now().Add(worldTimeout)
	var last world
	var err error
	for {
		var got world
		if got, err = observeOnce(); err == nil {
			if slices.Equal(got, want) {
				return
			}
			last = got
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	if last == nil {
		t.Fatalf("%s: cannot read the world: %v", what, err)
	}
	t.Fatalf("%s: the world is not as expected after %v (last error reading it: %v):\n%s", what, worldTimeout, err, last.diff(want))
}

// observeOnce reads the world with its own deadline: the tools are slow
// under emulation on a busy machine.
func observeOnce() (world, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return observe(ctx)
}

// worldTimeout bounds how long a world may take to settle.
const worldTimeout = 90 * time.Second

// settledWorld reads the world once it stopped changing: udev done with
// its queue, then two equal readings in a row.
func settledWorld(t *testing.T) world {
	t.Helper()
	deadline := time.Now().Add(worldTimeout)
	_ = exec.Command("udevadm", "settle", "--timeout=30").Run() // best effort: the readings decide
	var last world
	for {
		w, err := observeOnce()
		if err != nil {
			t.Fatalf("reading the world: %v", err)
		}
		if last != nil && slices.Equal(w, last) {
			return w
		}
		if time.Now().After(deadline) {
			t.Fatalf("the world did not settle in %v:\n%s", worldTimeout, w.diff(last))
		}
		last = w
		time.Sleep(200 * time.Millisecond)
	}
}
