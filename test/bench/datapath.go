package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/test/bench/report"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/test/e2e/lifecycle"
)

const dataSize = 64 << 20

func (b *bench) fioRuntime() time.Duration {
	if b.short {
		return time.Second
	}
	return 2 * time.Second // after a second of ramp-up
}

func (b *bench) fioReps() int {
	if b.short {
		return 1
	}
	return 2
}

// fioJob is one of report.FioJobs as fio arguments.
type fioJob struct {
	rw, bs string
	depth  int
	seq    bool // reported in MiB/s, not IOPS
}

var fioJobs = map[string]fioJob{
	"1M seqwrite QD16":  {"write", "1M", 16, true},
	"1M seqread QD16":   {"read", "1M", 16, true},
	"4k randread QD1":   {"randread", "4k", 1, false},
	"4k randread QD32":  {"randread", "4k", 32, false},
	"4k randwrite QD1":  {"randwrite", "4k", 1, false},
	"4k randwrite QD32": {"randwrite", "4k", 32, false},
}

// dataPath runs fio through a volume of the driver (thin and thick, raw
// block, staged and published on this node over iSCSI) and on a local LV of
// the same size and kind in the same VG: the floor is the device itself.
func (b *bench) dataPath(ctx context.Context) error {
	for _, prov := range report.Provisionings(b.short) {
		if err := b.dataPathOf(ctx, prov); err != nil {
			return fmt.Errorf("%s: %w", prov, err)
		}
	}
	return nil
}

func (b *bench) dataPathOf(ctx context.Context, prov string) error {
	d := b.d
	v, err := d.Create(ctx, b.uniq("data-"+prov), dataSize, map[string]string{"provisioning": prov}, lifecycle.BlockCapability())
	if err != nil {
		return err
	}
	if err := d.Up(ctx, v); err != nil {
		return err
	}
	local := floorID(b.uniq("data-local-" + prov))
	create := b.lvcreateThin(local, dataSize, volumeTags(local, prov))
	if prov == "thick" {
		create = b.lvcreateThick(local, dataSize, volumeTags(local, prov))
	}
	if _, err := cmd(ctx, "", create...); err != nil {
		return err
	}
	devs := map[string]string{"driver": v.TargetPath, "floor": b.lvPath(local)}
	// Both devices are written whole first: a thin LV reads unprovisioned
	// blocks as zeros without any I/O, which would flatter the reads.
	for _, side := range []string{"driver", "floor"} {
		if _, err := b.fio(ctx, devs[side], fioJob{"write", "1M", 16, true}, 0); err != nil {
			return fmt.Errorf("filling the %s device: %w", side, err)
		}
	}
	results := map[string]map[string][]float64{"driver": {}, "floor": {}}
	for rep := 0; rep < b.fioReps(); rep++ {
		for _, name := range report.FioJobs {
			sides := []string{"driver", "floor"}
			if rep%2 == 1 {
				sides[0], sides[1] = sides[1], sides[0]
			}
			for _, side := range sides {
				val, err := b.fio(ctx, devs[side], fioJobs[name], b.fioRuntime())
				if err != nil {
					return fmt.Errorf("%s on the %s device: %w", name, side, err)
				}
				results[side][name] = append(results[side][name], val)
			}
		}
	}
	for _, name := range report.FioJobs {
		unit := "IOPS"
		if fioJobs[name].seq {
			unit = "MiB/s"
		}
		b.add(report.GroupData, report.DataName(prov, name), unit, report.Higher, results["driver"][name], results["floor"][name],
			fmt.Sprintf("fio %s through the driver's %s volume (iSCSI, the driver's export settings: pool.TargetParams, writeCache on)", name, prov),
			fmt.Sprintf("fio %s on a local %s LV of the same size in the same VG", name, prov))
	}
	if err := d.Unpublish(ctx, v); err != nil {
		return err
	}
	if err := d.Unstage(ctx, v); err != nil {
		return err
	}
	if err := d.ControllerUnpublish(ctx, v); err != nil {
		return err
	}
	if err := d.Delete(ctx, v); err != nil {
		return err
	}
	_, err = cmd(ctx, "", b.lvremove(local)...)
	return err
}

// fio runs one job on dev with direct I/O and returns IOPS (random jobs)
// or MiB/s (sequential). runtime 0 runs the job once over the whole device.
func (b *bench) fio(ctx context.Context, dev string, j fioJob, runtime time.Duration) (float64, error) {
	out := filepath.Join(b.root, "fio.json")
	args := []string{"fio", "--name=bench", "--filename=" + dev, "--direct=1", "--ioengine=libaio",
		"--rw=" + j.rw, "--bs=" + j.bs, "--iodepth=" + strconv.Itoa(j.depth),
		"--output-format=json", "--output=" + out}
	if runtime > 0 {
		args = append(args, "--time_based", "--runtime="+strconv.Itoa(int(runtime/time.Second)), "--randrepeat=0")
		if !b.short {
			args = append(args, "--ramp_time=1")
		}
	}
	if err := os.MkdirAll(b.root, 0o750); err != nil {
		return 0, err
	}
	if _, err := cmd(ctx, "", args...); err != nil {
		return 0, err
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		return 0, err
	}
	return parseFio(raw, j.seq)
}

// parseFio reads fio's JSON: the first job's IOPS, or bandwidth in MiB/s.
// fio may print warnings before the JSON document; they are skipped.
func parseFio(raw []byte, seq bool) (float64, error) {
	if i := strings.IndexByte(string(raw), '{'); i > 0 {
		raw = raw[i:]
	}
	var r struct {
		Jobs []struct {
			Error int `json:"error"`
			Read  struct {
				IOPS    float64 `json:"iops"`
				BWBytes float64 `json:"bw_bytes"`
			} `json:"read"`
			Write struct {
				IOPS    float64 `json:"iops"`
				BWBytes float64 `json:"bw_bytes"`
			} `json:"write"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return 0, fmt.Errorf("reading fio's output: %w", err)
	}
	if len(r.Jobs) == 0 || r.Jobs[0].Error != 0 {
		return 0, fmt.Errorf("fio reported no job or an error: %s", raw)
	}
	j := r.Jobs[0]
	iops, bw := j.Read.IOPS+j.Write.IOPS, j.Read.BWBytes+j.Write.BWBytes
	if seq {
		return bw / (1 << 20), nil
	}
	return iops, nil
}
