package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/test/bench/report"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/test/e2e/lifecycle"
)

// The sweep (make bench-datapath, -sweep datapath) measures the data path
// for each configuration of sweepConfigs against one local-LV floor, in one
// guest boot: fio through a real iSCSI disk each time, the export and the
// node record set up by hand here (a tgtd of the sweep's own on the floor
// portal, started again for each configuration), so that settings the
// driver does not make yet can be compared. Each job runs once, for
// sweepRuntime after a second of ramp-up: indications, not statistics.
const sweepRuntime = 2 * time.Second

// sweepResult is one configuration's figures.
type sweepResult struct {
	Name string `json:"name"`
	What string `json:"what"`
	// Values are fio's figures per job (MiB/s or IOPS), Ratios the same
	// over the floor's.
	Values map[string]float64  `json:"values"`
	Ratios map[string]float64  `json:"ratios"`
	CPU    map[string]cpuShare `json:"cpu"`
	// Observed is what the initiator ended up with (negotiated keys, the
	// disk's cache type and queue depth), read from sysfs: the proof that a
	// setting took effect.
	Observed map[string]string `json:"observed,omitempty"`
	Error    string            `json:"error,omitempty"`
}

// sweepReport is sweep.json.
type sweepReport struct {
	Meta report.Meta `json:"meta"`
	// Floor holds the local LV's samples per job (measured before and
	// after the configurations); ratios are over their mean.
	Floor    map[string][]float64   `json:"floor"`
	FloorCPU map[string]cpuShare    `json:"floor_cpu"`
	Jobs     []string               `json:"jobs"`
	Configs  []sweepResult          `json:"configs"`
	Extra    map[string]interface{} `json:"extra,omitempty"`
}

func (b *bench) sweepDataPath(ctx context.Context, start time.Time) error {
	prov := "thin"
	floorLV := floorID(b.uniq("sweep-local"))
	iscsiLV := floorID(b.uniq("sweep-iscsi"))
	for _, lv := range []string{floorLV, iscsiLV} {
		if _, err := cmd(ctx, "", b.lvcreateThin(lv, dataSize, volumeTags(lv, prov))...); err != nil {
			return err
		}
		// Written whole, so no read finds an unprovisioned thin block.
		if _, err := b.fio(ctx, b.lvPath(lv), fioJob{"write", "1M", 16, true}, 0); err != nil {
			return fmt.Errorf("filling %s: %w", lv, err)
		}
	}
	defer func() {
		if _, err := cmd(context.Background(), "", b.lvremove(floorLV, iscsiLV)...); err != nil {
			say("  removing the sweep's LVs: %v", err)
		}
	}()
	r := &sweepReport{Floor: map[string][]float64{}, FloorCPU: map[string]cpuShare{}, Jobs: report.FioJobs}
	floor := func() error {
		vals, cpu, err := b.sweepJobs(ctx, b.lvPath(floorLV), 0)
		for j, v := range vals {
			r.Floor[j] = append(r.Floor[j], v)
		}
		for j, c := range cpu {
			r.FloorCPU[j] = c
		}
		return err
	}
	say("=== floor (local thin LV), first")
	if err := floor(); err != nil {
		return fmt.Errorf("the floor: %w", err)
	}
	for _, c := range sweepConfigs() {
		say("=== %s: %s", c.name, c.what)
		res := sweepResult{Name: c.name, What: c.what}
		var err error
		if c.driver {
			res.Values, res.CPU, res.Observed, err = b.sweepDriver(ctx, prov, c.params)
		} else {
			res.Values, res.CPU, res.Observed, err = b.sweepOne(ctx, c, iscsiLV)
		}
		if err != nil {
			// One configuration tgt refuses must not lose the others.
			res.Error = err.Error()
			say("  %s FAILED: %v", c.name, err)
		}
		r.Configs = append(r.Configs, res)
	}
	say("=== floor (local thin LV), again")
	if err := floor(); err != nil {
		return fmt.Errorf("the floor: %w", err)
	}
	r.ratios()
	r.Meta = b.meta(time.Since(start))
	r.Meta.Mode = "sweep datapath"
	r.Meta.Settings = map[string]string{
		"data volume":  fmt.Sprintf("%d MiB thin, raw block, written whole first", dataSize>>20),
		"fio":          fmt.Sprintf("--direct=1 --ioengine=libaio, %s after 1 s of ramp-up, 1 run per job and configuration", sweepRuntime),
		"floor":        "the same jobs on a local thin LV of the same size in the same VG, before and after the configurations (ratio over their mean)",
		"iSCSI side":   "a tgtd of the sweep's own (-f, started per configuration) on " + b.floorPortal + ", no CHAP; the driver row goes through the driver's tgtd on " + b.portal + " with CHAP",
		"volume group": os.Getenv("E2E_VG_SIZE") + " loop file, thin pool " + os.Getenv("E2E_THIN_POOL_SIZE"),
		"host":         os.Getenv("E2E_BENCH_HOST"),
	}
	raw, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(b.out, raw, 0o644); err != nil {
		return err
	}
	md := r.render()
	if err := os.WriteFile(strings.TrimSuffix(b.out, ".json")+".md", []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Print(md)
	var failed []string
	for _, c := range r.Configs {
		if c.Error != "" {
			failed = append(failed, c.Name)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("configurations that could not be measured: %s", strings.Join(failed, ", "))
	}
	return nil
}

// sweepJobs runs every fio job once on dev, reading the CPU times of the
// machine and of tgtd (pid, 0 for none) around each.
func (b *bench) sweepJobs(ctx context.Context, dev string, pid int) (map[string]float64, map[string]cpuShare, error) {
	vals, cpu := map[string]float64{}, map[string]cpuShare{}
	for _, name := range report.FioJobs {
		before, err := readCPU(pid)
		if err != nil {
			return vals, cpu, err
		}
		v, err := b.fio(ctx, dev, fioJobs[name], sweepRuntime)
		if err != nil {
			return vals, cpu, fmt.Errorf("%s on %s: %w", name, dev, err)
		}
		after, err := readCPU(pid)
		if err != nil {
			return vals, cpu, err
		}
		share := shareBetween(before, after, runtime.NumCPU())
		share.FioUser, share.FioSystem = fioCPU(filepath.Join(b.root, "fio.json"))
		vals[name], cpu[name] = v, share
		say("  %-18s %9.1f  busy %3.0f%% (tgtd %3.0f%%+%3.0f%%, fio %3.0f%%+%3.0f%%, softirq %3.0f%%)", name, v,
			share.Busy, share.TgtdUser, share.TgtdSystem, share.FioUser, share.FioSystem, share.Softirq)
	}
	return vals, cpu, nil
}

// fioCPU reads fio's own CPU use (percent of one CPU over the job's
// runtime) from the JSON the last job wrote.
func fioCPU(path string) (usr, sys float64) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, 0
	}
	if i := strings.IndexByte(string(raw), '{'); i > 0 {
		raw = raw[i:]
	}
	var r struct {
		Jobs []struct {
			Usr float64 `json:"usr_cpu"`
			Sys float64 `json:"sys_cpu"`
		} `json:"jobs"`
	}
	if json.Unmarshal(raw, &r) != nil || len(r.Jobs) == 0 {
		return 0, 0
	}
	return r.Jobs[0].Usr, r.Jobs[0].Sys
}

// sweepOne measures one configuration: its own tgtd, the export of lv as
// the configuration says, a login with its node record, the jobs, then
// everything undone.
func (b *bench) sweepOne(ctx context.Context, c sweepConfig, lv string) (map[string]float64, map[string]cpuShare, map[string]string, error) {
	port := b.floorControlPort
	tgtdPid, stop, err := b.startFloorTgtd(ctx, c.tgtdArgs...)
	if err != nil {
		return nil, nil, nil, err
	}
	defer stop()
	iqn := b.floorIQN(lv)
	params := "scsi_id=" + lv + ",scsi_sn=" + lv + ",thin_provisioning=0"
	if c.lunParams != "" {
		params += "," + c.lunParams
	}
	setup := [][]string{
		b.tgtadm(port, "--op", "new", "--mode", "target", "--tid", "1", "--targetname", iqn),
		b.tgtadm(port, append([]string{"--op", "new", "--mode", "logicalunit", "--tid", "1", "--lun", "1", "--backing-store", b.lvPath(lv)}, c.lunArgs...)...),
		b.tgtadm(port, "--op", "update", "--mode", "logicalunit", "--tid", "1", "--lun", "1", "--params", params),
	}
	for _, kv := range c.targetParams {
		setup = append(setup, b.tgtadm(port, "--op", "update", "--mode", "target", "--tid", "1", "--name", kv[0], "--value", kv[1]))
	}
	setup = append(setup, b.tgtadm(port, "--op", "bind", "--mode", "target", "--tid", "1", "--initiator-name", b.initiator))
	if err := cmds(ctx, "", setup...); err != nil {
		return nil, nil, nil, err
	}
	node := func(args ...string) []string {
		return append([]string{"iscsiadm", "-m", "node", "-T", iqn, "-p", b.floorPortal}, args...)
	}
	login := [][]string{node("-o", "new"), node("-o", "update", "-n", "node.startup", "-v", "manual")}
	for _, kv := range c.nodeSettings {
		login = append(login, node("-o", "update", "-n", kv[0], "-v", kv[1]))
	}
	login = append(login, node("--login"))
	if err := cmds(ctx, "", login...); err != nil {
		return nil, nil, nil, err
	}
	defer func() {
		if err := cmds(context.Background(), "", node("--logout"), node("-o", "delete")); err != nil {
			say("  logging out of %s: %v", iqn, err)
		}
	}()
	dev := "/dev/disk/by-path/ip-" + b.floorPortal + "-iscsi-" + iqn + "-lun-1"
	// The by-path link comes before the SCSI disk driver has read the
	// capacity: fio on a disk of size 0 fails (EINVAL).
	if err := waitFor(ctx, 60*time.Second, 20*time.Millisecond, func() bool { return diskSize(dev) > 0 }); err != nil {
		return nil, nil, nil, fmt.Errorf("waiting for %s to show its size: %w", dev, err)
	}
	// fio reads ':' in --filename as a list separator, and the by-path
	// link has two: it gets the kernel's name of the disk.
	disk, err := filepath.EvalSymlinks(dev)
	if err != nil {
		return nil, nil, nil, err
	}
	observed := observe(disk)
	say("  observed: %v", observed)
	vals, cpu, err := b.sweepJobs(ctx, disk, tgtdPid)
	return vals, cpu, observed, err
}

// sweepDriver measures a raw block volume of the driver, staged and
// published on this node through the CSI calls.
func (b *bench) sweepDriver(ctx context.Context, prov string, extra map[string]string) (map[string]float64, map[string]cpuShare, map[string]string, error) {
	d := b.d
	params := map[string]string{"provisioning": prov}
	maps.Copy(params, extra)
	v, err := d.Create(ctx, b.uniq("sweep-driver"), dataSize, params, lifecycle.BlockCapability())
	if err != nil {
		return nil, nil, nil, err
	}
	if err := d.Up(ctx, v); err != nil {
		return nil, nil, nil, err
	}
	if _, err := b.fio(ctx, v.TargetPath, fioJob{"write", "1M", 16, true}, 0); err != nil {
		return nil, nil, nil, fmt.Errorf("filling the driver's volume: %w", err)
	}
	observed := observe(v.TargetPath)
	say("  observed: %v", observed)
	vals, cpu, jobsErr := b.sweepJobs(ctx, v.TargetPath, findTgtd(b.portal))
	err = errors.Join(jobsErr, d.Unpublish(ctx, v), d.Unstage(ctx, v), d.ControllerUnpublish(ctx, v), d.Delete(ctx, v))
	return vals, cpu, observed, err
}
