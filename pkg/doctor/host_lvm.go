package doctor

import (
	"context"
	"errors"
	"fmt"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
)

func (h *host) checkVG(ctx context.Context) []Finding {
	vg, err := h.deps.LVM.GetVG(ctx, h.cfg.VolumeGroup)
	switch {
	case errors.Is(err, lvm.ErrNotFound):
		return []Finding{{Severity: Error,
			What: fmt.Sprintf("volume group %s does not exist", h.cfg.VolumeGroup),
			Fix:  fmt.Sprintf("create it on the storage host's disk(s): vgcreate %s /dev/DISK (or start the controller with --volume-group naming the one that exists: vgs)", h.cfg.VolumeGroup)}}
	case err != nil:
		return []Finding{{Severity: Error,
			What: fmt.Sprintf("volume group %s cannot be read: %v", h.cfg.VolumeGroup, err),
			Fix:  "run vgs on the storage host and fix what lvm reports (missing PV, lvm.conf)"}}
	}
	return []Finding{ok("vg", fmt.Sprintf("volume group %s: %s, %s free", vg.Name, size(vg.Size), size(vg.Free)))}
}

func (h *host) checkVGFree(ctx context.Context) []Finding {
	vg, err := h.deps.LVM.GetVG(ctx, h.cfg.VolumeGroup)
	if err != nil {
		return nil // reported by vg
	}
	fix := fmt.Sprintf("add a disk: pvcreate /dev/DISK && vgextend %s /dev/DISK (or delete unused volumes)", vg.Name)
	switch {
	case vg.Free < vg.ExtentSize || vg.Free == 0:
		return []Finding{{Severity: Warning, What: fmt.Sprintf("volume group %s has no free extents: no thick volume, COW snapshot or thin pool growth fits", vg.Name), Fix: fix}}
	case vg.Free*10 < vg.Size:
		return []Finding{{Severity: Warning, What: fmt.Sprintf("volume group %s has %s free of %s (under 10%%)", vg.Name, size(vg.Free), size(vg.Size)), Fix: fix}}
	}
	return []Finding{ok("vg-free", fmt.Sprintf("volume group %s has %s free of %s", vg.Name, size(vg.Free), size(vg.Size)))}
}

// thinPool reads the thin pool, or the finding that says why it cannot.
func (h *host) thinPool(ctx context.Context) (*lvm.LV, *Finding) {
	lv, err := h.deps.LVM.GetLV(ctx, h.cfg.VolumeGroup, h.cfg.ThinPool)
	name := h.cfg.VolumeGroup + "/" + h.cfg.ThinPool
	switch {
	case errors.Is(err, lvm.ErrNotFound):
		return nil, &Finding{ID: "thin-pool", Severity: Error, What: fmt.Sprintf("thin pool %s does not exist", name),
			Fix: fmt.Sprintf("create it: lvcreate --type thin-pool -L SIZE -n %s %s (or start the controller with the --thin-pool that exists: lvs %s)", h.cfg.ThinPool, h.cfg.VolumeGroup, h.cfg.VolumeGroup)}
	case err != nil:
		return nil, &Finding{ID: "thin-pool", Severity: Error, What: fmt.Sprintf("thin pool %s cannot be read: %v", name, err),
			Fix: "run lvs on the storage host and fix what lvm reports"}
	case !lv.IsThinPool():
		return nil, &Finding{ID: "thin-pool", Severity: Error, What: fmt.Sprintf("%s is not a thin pool (lv_attr %s)", name, lv.Attr),
			Fix: "point --thin-pool at a thin pool (lvs -o lv_name,lv_attr: type t), or convert it: lvconvert --type thin-pool " + name}
	}
	return lv, nil
}

func (h *host) checkThinPool(ctx context.Context) []Finding {
	lv, f := h.thinPool(ctx)
	if f != nil {
		return []Finding{*f}
	}
	return []Finding{ok("thin-pool", fmt.Sprintf("thin pool %s/%s: %s", h.cfg.VolumeGroup, lv.Name, size(lv.Size)))}
}

func (h *host) checkThinData(ctx context.Context) []Finding {
	lv, f := h.thinPool(ctx)
	if f != nil {
		return nil // reported by thin-pool
	}
	name := h.cfg.VolumeGroup + "/" + lv.Name
	return []Finding{usage("thin-pool-data", "data", name, lv.DataPercent,
		fmt.Sprintf("grow the pool: lvextend -L +SIZE %s (vgextend %s first if the volume group is full); "+
			"better, let lvm grow it by itself: activation/thin_pool_autoextend_threshold = 80 and thin_pool_autoextend_percent = 20 in lvm.conf, with lvm2-monitor running", name, h.cfg.VolumeGroup),
		[]string{"lvextend", "-l", "+10%VG", name})}
}

func (h *host) checkThinMetadata(ctx context.Context) []Finding {
	lv, f := h.thinPool(ctx)
	if f != nil {
		return nil
	}
	name := h.cfg.VolumeGroup + "/" + lv.Name
	return []Finding{usage("thin-pool-metadata", "metadata", name, lv.MetadataPercent,
		fmt.Sprintf("grow the pool's metadata: lvextend --poolmetadatasize +SIZE %s (autoextend grows metadata too)", name),
		[]string{"lvextend", "--poolmetadatasize", "+256M", name})}
}

// usage grades a thin pool's data or metadata use.
func usage(id, what, name string, percent float64, fix string, cmd []string) Finding {
	text := fmt.Sprintf("thin pool %s %s is %.1f%% used", name, what, percent)
	switch {
	case percent >= thinErrorPercent:
		return Finding{ID: id, Severity: Error, What: text + fmt.Sprintf(" (at or past %d%%)", thinErrorPercent), Fix: fix, Command: cmd}
	case percent >= thinWarnPercent:
		return Finding{ID: id, Severity: Warning, What: text + fmt.Sprintf(" (at or past %d%%)", thinWarnPercent), Fix: fix, Command: cmd}
	}
	return ok(id, text)
}

func (h *host) checkThinZeroing(ctx context.Context) []Finding {
	lv, f := h.thinPool(ctx)
	if f != nil {
		return nil
	}
	name := h.cfg.VolumeGroup + "/" + lv.Name
	if lv.ZeroesNewBlocks() {
		return []Finding{ok("thin-pool-zeroing", fmt.Sprintf("thin pool %s zeroes new blocks", name))}
	}
	sev, extra := Error, "; the controller refuses thin volumes until it does"
	if h.cfg.AllowThinPoolWithoutZeroing {
		sev, extra = Warning, "; accepted by --allow-thin-pool-without-zeroing"
	}
	return []Finding{{Severity: sev, What: fmt.Sprintf("thin pool %s does not zero new blocks (lv_attr %s)%s", name, lv.Attr, extra),
		Fix: "turn zeroing on (new blocks cost a write of zeroes): lvchange -Z y " + name, Command: []string{"lvchange", "-Z", "y", name}}}
}

// size prints bytes in binary units.
func size(b uint64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%d B", b)
	}
	div, exp := uint64(unit), 0
	for n := b / unit; n >= unit; n /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(b)/float64(div), "KMGTPE"[exp])
}
