package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/test/bench/report"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/test/e2e/lifecycle"
)

const (
	controlSize = 64 << 20 // the control and node path's volume: mkfs over iSCSI under emulation is slow
	grownSize   = 2 * controlSize
)

var thinParams = map[string]string{"provisioning": "thin"}

// controlPath times one volume's life through the driver and through its
// floors, b.reps times, alternating which goes first so that drift of the
// machine does not favour either: create, publish, stage, unstage,
// unpublish, expand, snapshot, clone from the snapshot and from the volume,
// delete.
func (b *bench) controlPath(ctx context.Context) error {
	driver, floor := map[string][]float64{}, map[string][]float64{}
	for rep := 0; rep < b.reps; rep++ {
		sides := []func() error{
			func() error { return b.driverCycle(ctx, driver) },
			func() error { return b.floorCycle(ctx, floor) },
		}
		if rep%2 == 1 {
			sides[0], sides[1] = sides[1], sides[0]
		}
		for _, side := range sides {
			if err := side(); err != nil {
				return fmt.Errorf("repetition %d: %w", rep+1, err)
			}
		}
		say("  repetition %d of %d done", rep+1, b.reps)
	}
	for i := range driver["CreateVolume"] {
		driver["CreateVolume+ControllerPublishVolume"] = append(driver["CreateVolume+ControllerPublishVolume"], driver["CreateVolume"][i]+driver["ControllerPublishVolume"][i])
		floor["CreateVolume+ControllerPublishVolume"] = append(floor["CreateVolume+ControllerPublishVolume"], floor["CreateVolume"][i]+floor["ControllerPublishVolume"][i])
	}
	for _, name := range report.ControlFigures {
		b.add(report.GroupControl, name, "s", report.Lower, driver[name], floor[name], controlDriverDoes[name], controlFloorDoes[name])
	}
	for _, name := range report.NodeFigures {
		b.add(report.GroupNode, name, "s", report.Lower, driver[name], floor[name], controlDriverDoes[name], controlFloorDoes[name])
	}
	return nil
}

var controlDriverDoes = map[string]string{
	"CreateVolume":                         "CreateVolume, 64 MiB thin, ext4 capability",
	"ControllerPublishVolume":              "ControllerPublishVolume to this node (CHAP on)",
	"CreateVolume+ControllerPublishVolume": "the two calls above, one after the other",
	"NodeStageVolume":                      "NodeStageVolume, ext4: login with CHAP, serial check, mkfs, mount",
	"NodeUnstageVolume":                    "NodeUnstageVolume: unmount, flush and delete the disk, logout, delete the node record",
	"ControllerUnpublishVolume":            "ControllerUnpublishVolume of the only node",
	"ControllerExpandVolume":               "ControllerExpandVolume of the unpublished volume, 64 → 128 MiB",
	"CreateSnapshot":                       "CreateSnapshot of the 128 MiB thin volume",
	"CreateVolume from snapshot":           "CreateVolume with the snapshot as content source (thin)",
	"CreateVolume from volume":             "CreateVolume with the volume as content source (thin)",
	"DeleteVolume":                         "DeleteVolume of the unpublished thin volume (its snapshot and clones deleted before, untimed)",
}

var controlFloorDoes = map[string]string{
	"CreateVolume":                         "lvcreate -y --wipesignatures y -n ID -V 64MiB --thinpool POOL with the 3 tags",
	"ControllerPublishVolume":              "lvchange --addtag <pub tag>; tgtadm new target, new logicalunit, update logicalunit (scsi_id, scsi_sn, thin_provisioning=0), new account, bind account, bind initiator-name",
	"CreateVolume+ControllerPublishVolume": "the two floors above",
	"NodeStageVolume":                      "iscsiadm -o new, one -o update (CHAP method, user, password), --login; wait for the disk as the driver does (by-path link or sysfs); mkfs.ext4 -F -m0; mount -t ext4",
	"NodeUnstageVolume":                    "umount; iscsiadm --logout; iscsiadm -o delete",
	"ControllerUnpublishVolume":            "lvchange --deltag <pub tag>; tgtadm delete target --force; tgtadm delete account",
	"ControllerExpandVolume":               "lvextend -L 128MiB",
	"CreateSnapshot":                       "lvcreate -y -n ID -s VG/ORIGIN with the 7 snapshot tags",
	"CreateVolume from snapshot":           "lvcreate -y -n ID -s VG/SNAPSHOT --setactivationskip n with the 4 tags of a clone (active when it returns)",
	"CreateVolume from volume":             "lvcreate -y -n ID -s VG/VOLUME --setactivationskip n with the 4 tags of a clone (active when it returns)",
	"DeleteVolume":                         "lvremove -y",
}

func (b *bench) driverCycle(ctx context.Context, samples map[string][]float64) error {
	d := b.d
	mount := lifecycle.MountCapability("ext4")
	var v, fromSnap, fromVol *lifecycle.Volume
	var snap string
	steps := []struct {
		name string
		f    func() error
	}{
		{"CreateVolume", func() (err error) {
			v, err = d.Create(ctx, b.uniq("ctl"), controlSize, thinParams, mount)
			return err
		}},
		{"ControllerPublishVolume", func() error { return d.ControllerPublish(ctx, v) }},
		{"NodeStageVolume", func() error { return d.Stage(ctx, v) }},
		{"NodeUnstageVolume", func() error { return d.Unstage(ctx, v) }},
		{"ControllerUnpublishVolume", func() error { return d.ControllerUnpublish(ctx, v) }},
		{"ControllerExpandVolume", func() error {
			_, err := d.Controller.ControllerExpandVolume(ctx, &csi.ControllerExpandVolumeRequest{
				VolumeId: v.ID, CapacityRange: &csi.CapacityRange{RequiredBytes: grownSize}, VolumeCapability: mount,
			})
			return err
		}},
		{"CreateSnapshot", func() (err error) {
			snap, err = d.Snapshot(ctx, b.uniq("snap"), v)
			return err
		}},
		{"CreateVolume from snapshot", func() (err error) {
			fromSnap, err = d.CreateFrom(ctx, b.uniq("fromsnap"), grownSize, thinParams, mount, snap)
			return err
		}},
		{"CreateVolume from volume", func() (err error) {
			fromVol, err = d.CreateFrom(ctx, b.uniq("fromvol"), grownSize, thinParams, mount, v.ID)
			return err
		}},
		{"", func() error { // untimed: what the last step needs gone
			for _, c := range []*lifecycle.Volume{fromVol, fromSnap} {
				if err := d.Delete(ctx, c); err != nil {
					return err
				}
			}
			return d.DeleteSnapshot(ctx, snap)
		}},
		{"DeleteVolume", func() error { return d.Delete(ctx, v) }},
	}
	return runSteps("driver", steps, samples)
}

func (b *bench) floorCycle(ctx context.Context, samples map[string][]float64) error {
	name := b.uniq("floor")
	id := floorID(name)
	snapName, snapID := b.uniq("floorsnap"), floorID(b.uniq("floorsnap-id"))
	cloneS, cloneV := floorID(b.uniq("floorclone")), floorID(b.uniq("floorclone"))
	t := b.newFloorTarget(id)
	staging, err := b.stagingDir(id)
	if err != nil {
		return err
	}
	cloneTags := func(cname, src string) []string {
		return append(volumeTags(cname, "thin"), floorTags("lic.src="+src)...)
	}
	steps := []struct {
		name string
		f    func() error
	}{
		{"CreateVolume", func() error { return cmds(ctx, "", b.lvcreateThin(id, controlSize, volumeTags(name, "thin"))) }},
		{"ControllerPublishVolume", func() error { return b.floorPublish(ctx, t) }},
		{"NodeStageVolume", func() error { return b.floorStage(ctx, t, staging) }},
		{"NodeUnstageVolume", func() error { return b.floorUnstage(ctx, t, staging) }},
		{"ControllerUnpublishVolume", func() error { return b.floorUnpublish(ctx, t) }},
		{"ControllerExpandVolume", func() error {
			return cmds(ctx, "", b.lvm("lvextend", "-L", bytesArg(grownSize), b.vg+"/"+id))
		}},
		{"CreateSnapshot", func() error {
			tags := floorTags("lic.v1", "lic.kind=snapshot", "lic.name="+b64.EncodeToString([]byte(snapName)), "lic.src="+id,
				"lic.prov=thin", "lic.time="+strconv.FormatInt(time.Now().Unix(), 10), "lic.size="+strconv.Itoa(grownSize))
			return cmds(ctx, "", b.lvsnapshot(snapID, id, tags))
		}},
		{"CreateVolume from snapshot", func() error {
			return cmds(ctx, "", b.lvclone(cloneS, snapID, cloneTags(cloneS, snapID)))
		}},
		{"CreateVolume from volume", func() error {
			return cmds(ctx, "", b.lvclone(cloneV, id, cloneTags(cloneV, id)))
		}},
		{"", func() error { return cmds(ctx, "", b.lvremove(cloneV, cloneS, snapID)) }},
		{"DeleteVolume", func() error { return cmds(ctx, "", b.lvremove(id)) }},
	}
	return runSteps("floor", steps, samples)
}

func runSteps(side string, steps []struct {
	name string
	f    func() error
}, samples map[string][]float64) error {
	for _, s := range steps {
		secs, err := timed(s.f)
		if err != nil {
			return fmt.Errorf("%s %s: %w", side, orUntimed(s.name), err)
		}
		if s.name != "" {
			samples[s.name] = append(samples[s.name], secs)
		}
	}
	return nil
}

func orUntimed(name string) string {
	if name == "" {
		return "clean-up"
	}
	return name
}
