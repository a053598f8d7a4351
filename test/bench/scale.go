package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	utilexec "k8s.io/utils/exec"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/test/bench/report"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/test/e2e/lifecycle"
)

// smallSize is a burst's and healing's volume: thin, so its size costs
// nothing but the thin pool's allowance, which a hundred of them must fit.
const smallSize = 16 << 20

func (b *bench) burstReps(n int) int {
	if b.short || n > 1 {
		return 1
	}
	return 3
}

func (b *bench) healReps(n int) int {
	if b.short || n > 10 {
		return 1
	}
	return 2
}

// scale measures bursts of concurrent CreateVolume+ControllerPublishVolume,
// then, with the volumes a burst left published, tgtd's healing and
// ListVolumes at that count; counts no burst reaches are topped up.
func (b *bench) scale(ctx context.Context) error {
	var published []*lifecycle.Volume
	pending := report.Healings(b.short)
	healNow := func() error {
		for len(pending) > 0 && pending[0] == len(published) {
			if err := b.heal(ctx, published); err != nil {
				return err
			}
			if err := b.list(ctx, len(published)); err != nil {
				return err
			}
			pending = pending[1:]
		}
		return nil
	}
	for _, n := range report.Bursts(b.short) {
		var drv, flr []float64
		reps := b.burstReps(n)
		for rep := 0; rep < reps; rep++ {
			// The floor first, and cleaned up before the driver's burst, so
			// both run against the same volume group.
			secs, err := b.floorBurst(ctx, n)
			if err != nil {
				return fmt.Errorf("floor of a burst of %d: %w", n, err)
			}
			flr = append(flr, secs)
			vols, secs, err := b.driverBurst(ctx, n, "burst")
			if err != nil {
				return fmt.Errorf("burst of %d: %w", n, err)
			}
			drv = append(drv, secs)
			if n > 1 && rep == reps-1 {
				published = append(published, vols...)
			} else if err := b.teardown(ctx, vols); err != nil {
				return err
			}
		}
		b.add(report.GroupBurst, report.BurstName(n), "s", report.Lower, drv, flr,
			fmt.Sprintf("%d CreateVolume+ControllerPublishVolume calls (%d MiB thin, distinct names) sent at once; time until the last answers", n, smallSize>>20),
			fmt.Sprintf("the floors of CreateVolume and ControllerPublishVolume for %d volumes, run one after the other", n))
		if err := healNow(); err != nil {
			return err
		}
	}
	for len(pending) > 0 {
		if more := pending[0] - len(published); more > 0 {
			say("  publishing %d more volumes (untimed) to heal %d", more, pending[0])
			vols, _, err := b.driverBurst(ctx, more, "heal")
			if err != nil {
				return err
			}
			published = append(published, vols...)
		}
		if err := healNow(); err != nil {
			return err
		}
		if len(pending) > 0 && pending[0] < len(published) {
			return fmt.Errorf("cannot heal %d volumes with %d published", pending[0], len(published))
		}
	}
	if err := b.scaleSeeded(ctx, published); err != nil {
		return err
	}
	// The volumes still published stay: the guest's clean-up removes the
	// whole volume group, and tearing down a hundred volumes one by one
	// would cost minutes of guest time that measure nothing.
	say("  leaving %d published volumes to the harness's clean-up", len(published))
	return nil
}

// driverBurst sends n CreateVolume+ControllerPublishVolume pairs at once
// and returns the volumes and the time until the last pair answered.
func (b *bench) driverBurst(ctx context.Context, n int, what string) ([]*lifecycle.Volume, float64, error) {
	vols := make([]*lifecycle.Volume, n)
	names := make([]string, n)
	for i := range names {
		names[i] = b.uniq(what)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	secs, _ := timed(func() error {
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v, err := b.d.Create(ctx, names[i], smallSize, thinParams, lifecycle.MountCapability("ext4"))
				if err == nil {
					err = b.d.ControllerPublish(ctx, v)
				}
				vols[i], errs[i] = v, err
			}()
		}
		wg.Wait()
		return nil
	})
	if err := errors.Join(errs...); err != nil {
		return nil, 0, err
	}
	return vols, secs, nil
}

// teardown unpublishes and deletes volumes, a few at a time (untimed).
func (b *bench) teardown(ctx context.Context, vols []*lifecycle.Volume) error {
	sem := make(chan struct{}, 4)
	errs := make([]error, len(vols))
	var wg sync.WaitGroup
	for i, v := range vols {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := b.d.ControllerUnpublish(ctx, v); err != nil {
				errs[i] = err
				return
			}
			errs[i] = b.d.Delete(ctx, v)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// floorBurst runs the floors of CreateVolume and ControllerPublishVolume
// for n volumes one after the other, then removes them (untimed).
func (b *bench) floorBurst(ctx context.Context, n int) (float64, error) {
	var ids []string
	var targets []floorTarget
	secs, err := timed(func() error {
		for range n {
			name := b.uniq("floorburst")
			id := floorID(name)
			ids = append(ids, id)
			if err := cmds(ctx, "", b.lvcreateThin(id, smallSize, volumeTags(name, "thin"))); err != nil {
				return err
			}
			t := b.newFloorTarget(id)
			targets = append(targets, t)
			if err := b.floorPublish(ctx, t); err != nil {
				return err
			}
		}
		return nil
	})
	for _, t := range targets {
		err = errors.Join(err, cmds(ctx, "", b.unexportCmds(b.controlPort, t)...))
	}
	if len(ids) > 0 {
		err = errors.Join(err, cmds(ctx, "", b.lvremove(ids...)))
	}
	return secs, err
}

// heal kills tgtd (the harness's restart-tgtd: kill -9, start again, wait
// for its socket) and times, from the kill, until every published volume's
// target is back whole: LUN 1 with its serial, the initiator bound, a CHAP
// account bound. The floor starts a second, empty tgtd and times, from its
// start, until the bare tgtadm commands have rebuilt the same exports: both
// include a tgtd start-up.
func (b *bench) heal(ctx context.Context, vols []*lifecycle.Volume) error {
	n := len(vols)
	var drv, flr []float64
	for rep := 0; rep < b.healReps(n); rep++ {
		secs, err := b.floorHeal(ctx, vols)
		if err != nil {
			return fmt.Errorf("healing floor, %d volumes: %w", n, err)
		}
		flr = append(flr, secs)
		passes, err := b.passesIfMetrics(ctx)
		if err != nil {
			return err
		}
		secs, err = timed(func() error {
			if _, err := cmd(ctx, "", b.restartTgtd); err != nil {
				return err
			}
			return b.waitHealed(ctx, vols)
		})
		if err != nil {
			return fmt.Errorf("healing %d volumes: %w", n, err)
		}
		drv = append(drv, secs)
		if err := b.notePass(ctx, passes, n); err != nil {
			return err
		}
	}
	b.add(report.GroupHealing, report.HealName(n), "s", report.Lower, drv, flr,
		fmt.Sprintf("kill -9 tgtd and start it again (the harness's restart-tgtd); from the kill until the controller has rebuilt all %d targets (target, LUN 1 with serial, CHAP account, initiator bound)", n)+b.seededText(),
		fmt.Sprintf("a second, empty tgtd started; from its start, wait for it to answer, then the 6 tgtadm commands of an export (as in ControllerPublishVolume's floor) for each of the %d volumes, one after the other", n))
	return nil
}

func (b *bench) waitHealed(ctx context.Context, vols []*lifecycle.Volume) error {
	t := tgt.New(runner.New(utilexec.New(), 30*time.Second), b.controlPort)
	return waitFor(ctx, 20*time.Minute, 250*time.Millisecond, func() bool {
		targets, err := t.ListTargets(ctx)
		if err != nil {
			return false
		}
		return healed(targets, vols, b.initiator)
	})
}

// healed reports whether every volume's target is back whole.
func healed(targets []tgt.Target, vols []*lifecycle.Volume, initiator string) bool {
	byIQN := map[string]tgt.Target{}
	for _, t := range targets {
		byIQN[t.IQN] = t
	}
	for _, v := range vols {
		t, ok := byIQN[v.PublishContext["iqn"]]
		if !ok || len(t.Accounts) == 0 || !slices.Contains(t.InitiatorNames, initiator) {
			return false
		}
		if !slices.ContainsFunc(t.LUNs, func(l tgt.LUN) bool { return l.Number == 1 && l.SCSISN == v.ID }) {
			return false
		}
	}
	return true
}

func (b *bench) floorHeal(ctx context.Context, vols []*lifecycle.Volume) (float64, error) {
	port := b.floorControlPort
	start := time.Now()
	_, stop, err := b.startFloorTgtd(ctx)
	if err != nil {
		return 0, err
	}
	defer stop()
	for _, v := range vols {
		t := b.newFloorTarget(v.ID)
		if err := cmds(ctx, t.password, b.exportCmds(port, t, b.lvPath(v.ID))...); err != nil {
			return 0, err
		}
	}
	return time.Since(start).Seconds(), nil
}

// list times ListVolumes (every page) against the one lvs report that
// reads the same LVs with the fields the driver reads.
func (b *bench) list(ctx context.Context, n int) error {
	var drv, flr []float64
	for range b.reps {
		secs, err := timed(func() error {
			token := ""
			for {
				resp, err := b.d.Controller.ListVolumes(ctx, &csi.ListVolumesRequest{StartingToken: token})
				if err != nil {
					return err
				}
				if token = resp.GetNextToken(); token == "" {
					return nil
				}
			}
		})
		if err != nil {
			return fmt.Errorf("ListVolumes: %w", err)
		}
		drv = append(drv, secs)
		secs, err = timed(func() error {
			_, err := cmd(ctx, "", b.lvsDriverFields()...)
			return err
		})
		if err != nil {
			return err
		}
		flr = append(flr, secs)
	}
	b.add(report.GroupList, report.ListName(n), "s", report.Lower, drv, flr,
		fmt.Sprintf("ListVolumes, every page, with %d volumes (and the CHAP key LV) in the VG", n)+b.seededText(),
		"one lvs --reportformat json of the VG with the fields the driver reads")
	return nil
}

// startFloorTgtd starts a tgtd of the bench's own on the floor's control
// port and portal, with extra arguments, and waits until it answers; it
// returns tgtd's pid, and stop, which kills it and removes its control
// socket.
func (b *bench) startFloorTgtd(ctx context.Context, extra ...string) (pid int, stop func(), err error) {
	port := b.floorControlPort
	d := exec.Command("tgtd", append([]string{"-f", "-C", strconv.Itoa(port), "--iscsi", "portal=" + b.floorPortal}, extra...)...)
	d.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := d.Start(); err != nil {
		return 0, nil, err
	}
	stop = func() {
		d.Process.Kill()
		d.Wait()
		os.Remove("/var/run/tgtd/socket." + strconv.Itoa(port))
		os.Remove("/var/run/tgtd/socket." + strconv.Itoa(port) + ".lock")
	}
	err = waitFor(ctx, 30*time.Second, 50*time.Millisecond, func() bool {
		_, err := cmd(ctx, "", b.tgtadm(port, "--op", "show", "--mode", "sys")...)
		return err == nil
	})
	if err != nil {
		stop()
		return 0, nil, fmt.Errorf("the bench's own tgtd on control port %d: %w", port, err)
	}
	return d.Process.Pid, stop, nil
}
