package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/pool"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/publish"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/test/bench/report"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/test/e2e/lifecycle"
)

const metricPrefix = "lvm_iscsi_csi_"

// scaleSeeded is the full run's part past what the RPCs reach in guest
// time: healing at report.SeededHealings published volumes, then
// ListVolumes and a reconcile pass with nothing to repair at
// report.SeededLists / report.Reconciles volumes, the volumes past those
// the driver made seeded (seed.go). published are the volumes the driver
// made and published in this run; the first is the seeds' template.
func (b *bench) scaleSeeded(ctx context.Context, published []*lifecycle.Volume) error {
	heals, lists, recs := report.SeededHealings(b.short), report.SeededLists(b.short), report.Reconciles(b.short)
	if len(heals)+len(lists)+len(recs) == 0 {
		return nil
	}
	if len(published) == 0 {
		return fmt.Errorf("no published volume of the driver to seed from")
	}
	tmpl := published[0]
	have, err := b.lvTags(ctx)
	if err != nil {
		return err
	}
	template, ok := have[tmpl.ID]
	if !ok {
		return fmt.Errorf("the template volume %s is not in lvs", tmpl.ID)
	}
	iqnPrefix, ok := strings.CutSuffix(tmpl.PublishContext["iqn"], ":"+tmpl.ID)
	if !ok {
		return fmt.Errorf("the template's iqn %q does not end in its id", tmpl.PublishContext["iqn"])
	}
	vols := append([]*lifecycle.Volume(nil), published...)
	mdaSize, mdaFree0, mdaErr := b.mdaFree(ctx)
	seeded0 := b.seeded
	for _, n := range heals {
		var lvs []seedLV
		for range n - len(vols) {
			name := b.uniq("seed")
			id := pool.VolumeID(name)
			tags, err := seedTags(template, name, true)
			if err != nil {
				return err
			}
			lvs = append(lvs, seedLV{id: id, tags: tags, active: true})
			vols = append(vols, &lifecycle.Volume{Name: name, ID: id, PublishContext: map[string]string{"iqn": publish.IQN(iqnPrefix, id)}})
		}
		say("  seeding %d published volumes (untimed) to heal %d", len(lvs), n)
		if err := b.seed(ctx, lvs); err != nil {
			return err
		}
		if err := b.heal(ctx, vols); err != nil {
			return err
		}
	}
	for _, n := range sortedUnion(lists, recs) {
		count, err := b.countVolumes(ctx)
		if err != nil {
			return err
		}
		if count < n {
			var lvs []seedLV
			for range n - count {
				name := b.uniq("seed")
				tags, err := seedTags(template, name, false)
				if err != nil {
					return err
				}
				lvs = append(lvs, seedLV{id: pool.VolumeID(name), tags: tags})
			}
			say("  seeding %d unpublished volumes (untimed) to list %d", len(lvs), n)
			if err := b.seed(ctx, lvs); err != nil {
				return err
			}
			if count, err = b.countVolumes(ctx); err != nil {
				return err
			}
		}
		if count != n {
			return fmt.Errorf("ListVolumes lists %d volumes, want %d", count, n)
		}
		if slices.Contains(lists, n) {
			if err := b.list(ctx, n); err != nil {
				return err
			}
		}
		if slices.Contains(recs, n) {
			if err := b.reconcilePass(ctx, n, len(vols)); err != nil {
				return err
			}
		}
	}
	if _, mdaFree1, err := b.mdaFree(ctx); err == nil && mdaErr == nil && b.seeded > seeded0 && mdaFree0 > mdaFree1 {
		per := (mdaFree0 - mdaFree1) / uint64(b.seeded-seeded0)
		b.note("lvm metadata: %d bytes per seeded volume with its tags; the PV's metadata area of %d KiB has %d KiB free with %d volumes (lvm's default area, about 1 MiB with about 508 KiB usable, holds about %d such volumes)",
			per, mdaSize>>10, mdaFree1>>10, b.seeded-seeded0+len(published), (508<<10)/per)
	}
	if len(b.seedRates) > 0 {
		first, last := b.seedRates[0], b.seedRates[len(b.seedRates)-1]
		b.note("seeding (untimed, not a figure): %d batches of up to 100 LVs through one lvm shell each, %s in all; %.0f ms per LV in the first batch, %.0f ms in the last (%.1f×: every lvm commit writes the whole VG's metadata)",
			len(b.seedRates), b.seedTime.Round(time.Second), 1000*first, 1000*last, last/first)
	}
	return nil
}

// seededText says, in a figure's text, how many of its volumes were seeded.
func (b *bench) seededText() string {
	if b.seeded == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d of the volumes seeded: LVs with the tags of a volume the driver made, written by lvcreate, untimed)", b.seeded)
}

// sortedUnion is every count of a and b once, smallest first: a count
// that is both a listing's and a reconcile pass's is seeded and measured
// once (the first full run with them recorded each figure twice).
func sortedUnion(a, b []int) []int {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

// countVolumes counts what ListVolumes lists (untimed): the check that the
// seeded LVs are taken for volumes.
func (b *bench) countVolumes(ctx context.Context) (int, error) {
	n, token := 0, ""
	for {
		resp, err := b.d.Controller.ListVolumes(ctx, &csi.ListVolumesRequest{StartingToken: token})
		if err != nil {
			return 0, fmt.Errorf("ListVolumes: %w", err)
		}
		n += len(resp.GetEntries())
		if token = resp.GetNextToken(); token == "" {
			return n, nil
		}
	}
}

// reconcilePass times a full reconcile pass with nothing to repair: a chmod
// of tgtd's control socket to its own mode changes the file's ctime, which
// the reconciler takes for a new tgtd (pkg/pool/reconcile.go, RunReconciler)
// while this tgtd keeps every target. The duration is the driver's own
// (reconcile_last_duration_seconds); the floor is the two reads a pass
// cannot do without.
func (b *bench) reconcilePass(ctx context.Context, n, published int) error {
	socket := tgt.SocketPath(b.controlPort)
	var drv, flr []float64
	for range b.reps {
		text, err := b.metrics(ctx)
		if err != nil {
			return err
		}
		repairs := metricOr0(text, metricPrefix+"reconcile_repairs_total", `kind="tgtd"`)
		info, err := os.Stat(socket)
		if err != nil {
			return err
		}
		before, err := b.passes(ctx)
		if err != nil {
			return err
		}
		if err := os.Chmod(socket, info.Mode().Perm()); err != nil {
			return err
		}
		secs, text, err := b.awaitPass(ctx, before, true)
		if err != nil {
			return fmt.Errorf("reconcile pass after chmod of %s: %w", socket, err)
		}
		if now := metricOr0(text, metricPrefix+"reconcile_repairs_total", `kind="tgtd"`); now != repairs {
			return fmt.Errorf("the reconcile pass repaired %v things in tgtd; it should have found nothing to repair", now-repairs)
		}
		drv = append(drv, secs)
		secs, err = timed(func() error {
			return cmds(ctx, "", b.lvsDriverFields(), b.tgtadm(b.controlPort, "--op", "show", "--mode", "target"))
		})
		if err != nil {
			return err
		}
		flr = append(flr, secs)
	}
	b.add(report.GroupRecon, report.ReconcileName(n), "s", report.Lower, drv, flr,
		fmt.Sprintf("a full reconcile pass with %d volumes (%d published, targets whole) and nothing to repair, triggered by a chmod of tgtd's control socket to its own mode; the driver's reconcile_last_duration_seconds", n, published)+b.seededText(),
		"the reads a pass needs: one lvs --reportformat json of the VG with the driver's fields, one tgtadm --op show --mode target")
	return nil
}

// passCount is how many reconcile passes have finished, by result.
type passCount struct{ ok, errs float64 }

func readPasses(text string) passCount {
	return passCount{
		ok:   metricOr0(text, metricPrefix+"reconcile_runs_total", `result="ok"`),
		errs: metricOr0(text, metricPrefix+"reconcile_runs_total", `result="error"`),
	}
}

// passes reads passCount from the controller's metrics.
func (b *bench) passes(ctx context.Context) (passCount, error) {
	text, err := b.metrics(ctx)
	if err != nil {
		return passCount{}, err
	}
	if _, err := metricValue(text, metricPrefix+"reconcile_runs_total", `result="ok"`); err != nil {
		return passCount{}, err
	}
	return readPasses(text), nil
}

// awaitPass waits until a pass after those counted in before has finished
// and returns the last pass's duration and the metrics it read them from.
// A failed pass is an error, and so is more than one pass when exactlyOne
// (a pass of another trigger would then be measured).
func (b *bench) awaitPass(ctx context.Context, before passCount, exactlyOne bool) (float64, string, error) {
	var text string
	var now passCount
	err := waitFor(ctx, 20*time.Minute, 100*time.Millisecond, func() bool {
		var err error
		if text, err = b.metrics(ctx); err != nil {
			return false
		}
		now = readPasses(text)
		return now.ok+now.errs > before.ok+before.errs
	})
	if err != nil {
		return 0, "", err
	}
	if now.errs > before.errs {
		return 0, "", fmt.Errorf("a reconcile pass failed (reconcile_runs_total{result=\"error\"}); see driver-controller.log")
	}
	if exactlyOne && now.ok > before.ok+1 {
		return 0, "", fmt.Errorf("%v passes ran, one was expected", now.ok-before.ok)
	}
	secs, err := metricValue(text, metricPrefix+"reconcile_last_duration_seconds", "")
	return secs, text, err
}

func metricOr0(text, name, label string) float64 {
	v, err := metricValue(text, name, label)
	if err != nil {
		return 0
	}
	return v
}

// lvsDriverFields is the one lvs the driver reads the VG's LVs with
// (pkg/lvm/report.go: reportArgs, lvFields).
func (b *bench) lvsDriverFields() []string {
	return b.lvm("lvs", "--reportformat", "json", "--units", "b", "--nosuffix", "-o",
		"lv_name,vg_name,lv_uuid,lv_size,lv_attr,lv_tags,pool_lv,origin,data_percent,metadata_percent,lv_path", b.vg)
}

// passesIfMetrics is passes, or nil when the run has no metrics endpoint
// (the short run's figures do not need one).
func (b *bench) passesIfMetrics(ctx context.Context) (*passCount, error) {
	if b.controllerMetrics == "" {
		return nil, nil
	}
	p, err := b.passes(ctx)
	return &p, err
}

// notePass records, as a note, how long the reconcile pass that healed n
// targets took by the driver's own measure (the healing figure also counts
// tgtd's start and the socket watch's second).
func (b *bench) notePass(ctx context.Context, before *passCount, n int) error {
	if before == nil {
		return nil
	}
	secs, _, err := b.awaitPass(ctx, *before, false)
	if err != nil {
		return fmt.Errorf("the reconcile pass that healed %d targets: %w", n, err)
	}
	b.note("the reconcile pass that rebuilt %d targets after kill -9 tgtd took %.2f s (reconcile_last_duration_seconds)", n, secs)
	return nil
}
