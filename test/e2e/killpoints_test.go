//go:build e2e

package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/killpoint"
)

// The kill-point walk (docs/design.md, "Failure model"; test/e2e/README.md,
// "Kill points"): every RPC that changes something is run once cleanly to
// list the external commands it runs, then, for each command, killed
// (SIGKILL, by the process itself: pkg/killpoint) right before it and right
// after it. After each crash the process is started again and the same
// request is retried, as a CO would, until it succeeds; then the world
// (world_test.go: LVs and tags, tgtd, sessions, node records, disks, mounts,
// state files) must be exactly what the clean call left, and the data
// where the call keeps data must be intact.

var (
	restartController = flag.String("restart-controller", "",
		"script that kills the controller (SIGKILL) and starts it again; --binary=PATH starts another binary, --expect-dead checks it died by itself")
	killpointsBinary = flag.String("killpoints-binary", filepath.Join(filepath.Dir(os.Args[0]), "lvm-iscsi-csi-killpoints"),
		"the driver built with -tags killpoints")
	killPointSet = flag.String("kill-points", "sample",
		"which kill points TestKillPoints walks: sample (one in each of the walks of sampleWalks), changes (before and after every command that changes something), all (before and after every command), or count (none: every walk's clean call only, to list its commands)")
)

// retryTimeout bounds the CO's retries of one interrupted call.
const retryTimeout = 3 * time.Minute

// knownFailures are kill points excluded from the walk, each with the
// reason: non-convergences found by the walk and not fixed here. Keys are
// "<walk>/<kill point>", e.g. "CreateVolume/clone-thick/after:5".
var knownFailures = map[string]string{}

// process is one plugin process of the walk.
type process struct {
	name     string
	endpoint string
	restart  string // the harness's restart script
}

// restartWith restarts p on binary and waits until it is ready.
// expectDead: p killed itself at a kill point; the script fails if it was
// still running.
func (p *process) restartWith(binary string, expectDead bool) error {
	if err := p.restartOnly(binary, expectDead); err != nil {
		return err
	}
	return p.waitReady()
}

// restartOnly restarts p on binary and returns as soon as its socket is
// there: a CO's retries do not wait for Probe either.
func (p *process) restartOnly(binary string, expectDead bool) error {
	args := []string{"--binary=" + binary}
	if expectDead {
		args = append(args, "--expect-dead")
	}
	out, err := exec.Command(p.restart, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("restarting the %s: %v: %s", p.name, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// waitReady waits until a new connection's Probe says ready (the
// controller holds its locks, the node sees iscsid).
func (p *process) waitReady() error {
	deadline := time.Now().Add(time.Minute)
	for {
		err := p.with(func(cc *grpc.ClientConn) error {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			resp, err := csi.NewIdentityClient(cc).Probe(ctx, &csi.ProbeRequest{})
			if err == nil && !resp.GetReady().GetValue() {
				err = fmt.Errorf("not ready")
			}
			return err
		})
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the %s is not ready after a minute: %v", p.name, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// with runs fn on a new connection: the process may have been replaced
// since the last one.
func (p *process) with(fn func(*grpc.ClientConn) error) error {
	cc, err := grpc.NewClient(p.endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer cc.Close()
	return fn(cc)
}

// walk is one RPC and the states around it. Each function gets a fresh
// connection to each process.
type walk struct {
	name string
	proc *process // the process killed
	// setup runs once before the walk, teardown once after it; either may
	// be nil.
	setup, teardown func(ctx context.Context, c clients) error
	// prepare makes the call's starting state, each time; undo brings the
	// world back to what it was before prepare. Both may be nil.
	prepare, undo func(ctx context.Context, c clients) error
	// call makes the same request every time, with opts on its gRPC call.
	call func(ctx context.Context, c clients, opts ...grpc.CallOption) error
	// verify checks the data after the call converged; nil: none to check.
	verify func(ctx context.Context, c clients) error
}

// clients are the two processes' services on fresh connections.
type clients struct {
	ctrl csi.ControllerClient
	node csi.NodeClient
}

func (e *kpEnv) withClients(fn func(clients) error) error {
	return e.ctrl.with(func(cc *grpc.ClientConn) error {
		return e.node.with(func(nc *grpc.ClientConn) error {
			return fn(clients{ctrl: csi.NewControllerClient(cc), node: csi.NewNodeClient(nc)})
		})
	})
}

// step runs one of a walk's functions with its own deadline.
func (e *kpEnv) step(fn func(context.Context, clients) error) error {
	if fn == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), volumeTimeout)
	defer cancel()
	return e.withClients(func(c clients) error { return fn(ctx, c) })
}

// armed makes w's call with a kill point and returns the commands the
// process listed (none when it died).
func (e *kpEnv) armed(w walk, spec string) ([]string, error) {
	var trailer metadata.MD
	err := e.step(func(ctx context.Context, c clients) error {
		ctx = metadata.AppendToOutgoingContext(ctx, killpoint.MetadataKey, spec)
		return w.call(ctx, c, grpc.Trailer(&trailer))
	})
	return trailer.Get(killpoint.CommandsKey), err
}

// retry makes w's call as a CO would after a failure: again and again,
// a second apart, until it succeeds.
func (e *kpEnv) retry(t *testing.T, w walk) {
	t.Helper()
	deadline := time.Now().Add(retryTimeout)
	for attempt := 1; ; attempt++ {
		err := e.step(func(ctx context.Context, c clients) error { return w.call(ctx, c) })
		if err == nil {
			if attempt > 1 {
				t.Logf("the retry succeeded at attempt %d", attempt)
			}
			return
		}
		t.Logf("retry %d: %v", attempt, err)
		if time.Now().After(deadline) {
			t.Fatalf("the call did not succeed within %v of retries; last error: %v", retryTimeout, err)
		}
		time.Sleep(time.Second)
	}
}

// point is one kill point.
type point struct {
	mode killpoint.Mode
	n    int
}

func (p point) String() string { return fmt.Sprintf("%s:%d", p.mode, p.n) }

// readOnly reports commands that only read: a kill right before or after
// one leaves the state of a kill at the changing command next to it.
func readOnly(cmd string) bool {
	f := strings.Fields(cmd)
	if len(f) == 0 {
		return true
	}
	switch f[0] {
	case "lvs", "vgs", "pvs", "blkid", "dumpe2fs", "xfs_info":
		return true
	case "blockdev":
		return len(f) > 1 && strings.HasPrefix(f[1], "--get")
	case "tgtadm":
		return strings.Contains(cmd, " --op show ")
	case "iscsiadm":
		return cmd == "iscsiadm -m session"
	}
	return false
}

// sampleWalks is the kill-point set "sample" (make e2e, CI): one kill
// point in each of these walks, one walk per RPC that changes something,
// each right after a command that changes something: "first" and "last"
// are the first and the last such command, any other word the first
// command whose program starts with it. So one step is done and the rest
// are not: a volume or snapshot made but still marked creating, a volume
// marked deleting but not wiped, a tag written without its tgtd change
// (both ways), an LV grown but not its LUN, a disk formatted but not
// mounted, a filesystem unmounted but its session still there, a
// filesystem grown without an answer. The other walks, and the other kill
// points, run only with -kill-points=changes or all.
var sampleWalks = map[string]string{
	"CreateVolume/empty-thin":    "first",
	"CreateVolume/snapshot-thin": "first",
	"DeleteVolume/thick-wipe":    "first",
	"ControllerPublishVolume":    "first",
	"ControllerUnpublishVolume":  "first",
	"ControllerExpandVolume":     "lvextend",
	"CreateSnapshot":             "first",
	"DeleteSnapshot":             "first",
	"NodeStageVolume/mount":      "mkfs",
	"NodeUnstageVolume":          "first",
	"NodeExpandVolume":           "resize2fs",
}

// choose picks the kill points of walk name, whose call ran cmds (as
// listed by pkg/killpoint: "<n> <argv>"):
//
//	all      before and after every command;
//	changes  before and after every command that changes something: a
//	         kill next to a read-only command leaves the state of a kill
//	         at the changing command next to it, unless the process
//	         wrote a state file in between (see docs/design.md);
//	sample   one point of the walks in sampleWalks, none of the others;
//	count    none.
func choose(name string, cmds []string, set string) []point {
	var changes []int
	for i, c := range cmds {
		_, argv, _ := strings.Cut(c, " ")
		if !readOnly(argv) {
			changes = append(changes, i+1)
		}
	}
	var points []point
	switch set {
	case "all":
		for n := 1; n <= len(cmds); n++ {
			points = append(points, point{killpoint.Before, n}, point{killpoint.After, n})
		}
	case "changes":
		for _, n := range changes {
			points = append(points, point{killpoint.Before, n}, point{killpoint.After, n})
		}
	case "sample":
		which, ok := sampleWalks[name]
		if !ok || len(changes) == 0 {
			return nil
		}
		switch which {
		case "first":
			return []point{{killpoint.After, changes[0]}}
		case "last":
			return []point{{killpoint.After, changes[len(changes)-1]}}
		}
		for _, n := range changes {
			_, argv, _ := strings.Cut(cmds[n-1], " ")
			if strings.HasPrefix(argv, which) {
				return []point{{killpoint.After, n}}
			}
		}
	}
	return points
}

// walkStats is one walk's line in the summary.
type walkStats struct {
	name                      string
	commands, run, notReached int
	excluded, failed          []string
	duration                  time.Duration
}

// kpEnv is what every walk shares.
type kpEnv struct {
	ctrl, node *process
	nodeID     string
	pattern    []byte // written before, read after, where a call keeps data
	stats      []walkStats
}

// runWalk walks every chosen kill point of w.
func (e *kpEnv) runWalk(t *testing.T, w walk) {
	began := time.Now()
	st := walkStats{name: w.name}
	defer func() {
		st.duration = time.Since(began)
		e.stats = append(e.stats, st)
	}()
	if err := e.step(w.setup); err != nil {
		t.Fatalf("setting up: %v", err)
	}
	if w.teardown != nil {
		t.Cleanup(func() {
			if err := e.step(w.teardown); err != nil {
				t.Errorf("tearing down: %v", err)
			}
		})
	}
	base := settledWorld(t)
	if err := e.step(w.prepare); err != nil {
		t.Fatalf("preparing the clean call: %v", err)
	}
	start := settledWorld(t)
	defer func() {
		if t.Failed() {
			_ = e.step(w.undo) // leave less behind for the next walk
		}
	}()
	cmds, err := e.armed(w, string(killpoint.Count))
	if err != nil {
		t.Fatalf("the clean call failed: %v", err)
	}
	end := settledWorld(t)
	t.Logf("%s runs %d commands:\n  %s", w.name, len(cmds), strings.Join(cmds, "\n  "))
	st.commands = len(cmds)
	if err := e.step(w.verify); err != nil {
		t.Fatalf("after the clean call: %v", err)
	}
	if err := e.step(w.undo); err != nil {
		t.Fatalf("undoing the clean call: %v", err)
	}
	expectWorld(t, base, "after undoing the clean call")

	points := choose(w.name, cmds, *killPointSet)
	if _, ok := sampleWalks[w.name]; ok && *killPointSet == "sample" && len(points) == 0 {
		t.Errorf("the sample's kill point %q is none of the commands %s runs: the sample no longer covers it", sampleWalks[w.name], w.name)
	}
	for _, p := range points {
		key := w.name + "/" + p.String()
		if reason, ok := knownFailures[key]; ok {
			t.Logf("EXCLUDED %s (known failure): %s", key, reason)
			st.excluded = append(st.excluded, p.String())
			continue
		}
		reached := true
		pointBegan := time.Now()
		ok := t.Run(p.String(), func(t *testing.T) {
			defer func() { t.Logf("%s/%s took %v", w.name, p, time.Since(pointBegan).Round(time.Second)) }()
			if err := e.step(w.prepare); err != nil {
				t.Fatalf("preparing: %v", err)
			}
			expectWorld(t, start, "before the call")
			_, err := e.armed(w, p.String())
			if err == nil {
				// The clean call ran fewer commands this time (a retry
				// loop that ended sooner): nothing to crash.
				t.Logf("not reached: the call succeeded without reaching command %d", p.n)
				reached = false
			} else {
				t.Logf("the call died as planned: %v", err)
				if err := w.proc.restartOnly(*killpointsBinary, true); err != nil {
					t.Fatal(err)
				}
				e.retry(t, w)
			}
			expectWorld(t, end, "after the crash and the retries")
			if err := e.step(w.verify); err != nil {
				t.Fatalf("after the crash and the retries: %v", err)
			}
			if err := e.step(w.undo); err != nil {
				t.Fatalf("undoing: %v", err)
			}
			expectWorld(t, base, "after undoing")
		})
		st.run++
		if !reached {
			st.notReached++
		}
		if !ok {
			st.failed = append(st.failed, p.String())
			// Try to get back to the walk's starting world, so the
			// following kill points still prove something.
			for _, proc := range []*process{e.ctrl, e.node} {
				if proc.waitReady() != nil {
					_ = proc.restartWith(*killpointsBinary, false)
				}
			}
			_ = e.step(w.undo)
			if now, err := observeOnce(); err != nil || now.diff(base) != "" {
				t.Fatalf("stopping the walk of %s after %s failed: the world is not back to its start (%v):\n%s", w.name, p, err, now.diff(base))
			}
		}
	}
}

// TestKillPoints walks the kill points of every RPC that changes
// something. It runs the plugins from the killpoints build and puts the
// production binary back at the end.
func TestKillPoints(t *testing.T) {
	if *restartController == "" || *restartNode == "" || *controllerStateDir == "" || *nodeStateDir == "" {
		t.Fatal("-restart-controller, -restart-node, -controller-state-dir and -node-state-dir are required (test/e2e/guest.sh passes them)")
	}
	switch *killPointSet {
	case "sample", "changes", "all", "count":
	default:
		t.Fatalf("-kill-points=%q: want sample, changes, all or count", *killPointSet)
	}
	e := &kpEnv{
		ctrl: &process{name: "controller", endpoint: *controllerEndpoint, restart: *restartController},
		node: &process{name: "node plugin", endpoint: *nodeEndpoint, restart: *restartNode},
	}
	began := time.Now()
	for _, p := range []*process{e.ctrl, e.node} {
		if err := p.restartWith(*killpointsBinary, false); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, p := range []*process{e.ctrl, e.node} {
			if err := p.restartWith(*driverBinary, false); err != nil {
				t.Errorf("putting the production binary back: %v", err)
			}
		}
	})
	e.setup(t)
	var left []string
	for _, w := range e.walks() {
		if _, ok := sampleWalks[w.name]; *killPointSet == "sample" && !ok {
			left = append(left, w.name)
			continue
		}
		t.Run(w.name, func(t *testing.T) { e.runWalk(t, w) })
	}
	if len(left) > 0 {
		t.Logf("not in the sample (walked with -kill-points=changes or all): %s", strings.Join(left, ", "))
	}

	var total, notReached, excluded, failed int
	var b strings.Builder
	fmt.Fprintf(&b, "kill points (%s), %v in all:\n", *killPointSet, time.Since(began).Round(time.Second))
	for _, s := range e.stats {
		fmt.Fprintf(&b, "  %-36s %3d commands, %3d kill points run (%d not reached), %v", s.name, s.commands, s.run, s.notReached, s.duration.Round(time.Second))
		if len(s.excluded) > 0 {
			fmt.Fprintf(&b, ", excluded %v", s.excluded)
		}
		if len(s.failed) > 0 {
			fmt.Fprintf(&b, ", FAILED %v", s.failed)
		}
		b.WriteString("\n")
		total += s.run
		notReached += s.notReached
		excluded += len(s.excluded)
		failed += len(s.failed)
	}
	fmt.Fprintf(&b, "  %d kill points run, %d of them not reached, %d failed, %d excluded as known failures", total, notReached, failed, excluded)
	t.Log(b.String())
}
