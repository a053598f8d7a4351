//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The doctor's last three checks broken for real (TestDoctor and
// TestDoctorMoreChecks have the others): a thin pool's metadata filled by
// small writes, the initiator's kernel module unloaded, and multipathd
// claiming a volume's disk.
func TestDoctorKernelChecks(t *testing.T) {
	d, ctx := connect(t)

	// Thin pool metadata running out (the worst thin-provisioning failure:
	// the pool goes read-only): a pool of its own with the smallest
	// metadata lvm makes (2 MiB), filled by one 4 KiB write per 64 KiB
	// chunk, each of which costs a mapping and 4 KiB of the loop file (the
	// pool does not zero new chunks: zeroing would write all 64 KiB, and
	// the guest's loop file lives in its memory). The doctor's fix command
	// grows the metadata.
	t.Run("thin pool metadata nearly full", func(t *testing.T) {
		img := filepath.Join(t.TempDir(), "doctor-meta.img")
		if err := os.WriteFile(img, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(img, 10<<30); err != nil { // sparse
			t.Fatal(err)
		}
		loop := strings.TrimSpace(run(t, "losetup", "--find", "--show", img))
		defer exec.Command("losetup", "-d", loop).Run()
		vg := "lvmiscsidoctormeta"
		defer exec.Command("vgremove", "-y", "-f", vg).Run()
		// 1 MiB extents, or lvm rounds the metadata up to one 4 MiB extent.
		run(t, "vgcreate", "-s", "1M", vg, loop)
		run(t, "lvcreate", "-y", "--type", "thin-pool", "-L", "7G", "--poolmetadatasize", "2M", "--chunksize", "64k", "-Z", "n", "-n", "pool", vg)
		run(t, "lvcreate", "-y", "-V", "7G", "-T", vg+"/pool", "-n", "filler")
		args := []string{"--volume-group=" + vg, "--thin-pool=pool"}
		if r := doctor(t, "controller", args...); r.worst("thin-pool-metadata") != "ok" {
			t.Fatalf("a new pool: thin-pool-metadata %s", r.worst("thin-pool-metadata"))
		}

		// 512 MiB of the thin LV at a time (8192 chunks) until the metadata
		// passes the doctor's warning (80 %); about 11 steps of 3 s.
		const step = 512 << 20
		meta := 0.0
		for i := 0; meta < 80; i++ {
			if i == 13 {
				t.Fatalf("metadata %.1f%% after %d MiB written to", meta, i*step>>20)
			}
			run(t, "fio", "--name=meta", "--filename=/dev/"+vg+"/filler", "--rw=write:60k", "--bs=4k",
				"--direct=1", "--ioengine=libaio", "--iodepth=16", "--offset="+strconv.Itoa(i*step), "--size="+strconv.Itoa(step))
			meta = poolPercent(t, vg+"/pool", "metadata_percent")
			t.Logf("metadata %.1f%%, data %.1f%% after %d MiB", meta, poolPercent(t, vg+"/pool", "data_percent"), (i+1)*step>>20)
		}
		r := doctor(t, "controller", args...)
		f := r.naming(t, "thin-pool-metadata", vg+"/pool")
		if f.Severity != "warning" && f.Severity != "error" {
			t.Fatalf("thin-pool-metadata %s at %.1f%%; want warning or error", f.Severity, meta)
		}
		if !strings.Contains(f.What, "metadata") || !strings.Contains(f.Fix, "--poolmetadatasize") {
			t.Errorf("finding %+v: want metadata named and grown", f)
		}
		runCommand(t, f)
		if r := doctor(t, "controller", args...); r.worst("thin-pool-metadata") != "ok" {
			t.Errorf("after %q: thin-pool-metadata %s", f.Command, r.worst("thin-pool-metadata"))
		}
	})

	// iscsi_tcp missing on a node: no login can happen. The module can
	// only go while no session uses it, so this runs with none.
	t.Run("kernel module unloaded", func(t *testing.T) {
		if out, err := exec.Command("modprobe", "-r", "iscsi_tcp").CombinedOutput(); err != nil {
			sessions, _ := exec.Command("iscsiadm", "-m", "session").CombinedOutput()
			t.Fatalf("modprobe -r iscsi_tcp: %v %s (sessions left by earlier tests?\n%s)", err, out, sessions)
		}
		t.Cleanup(func() { _ = exec.Command("modprobe", "iscsi_tcp").Run() })
		r := doctor(t, "node")
		f := r.naming(t, "kernel-modules", "iscsi_tcp")
		if f.Severity != "error" || r.exitCode != 2 {
			t.Fatalf("kernel-modules %s, exit %d; want error, 2", f.Severity, r.exitCode)
		}
		runCommand(t, f)
		if r := doctor(t, "node"); r.worst("kernel-modules") != "ok" {
			t.Errorf("after %q: kernel-modules %s", f.Command, r.worst("kernel-modules"))
		}
		// And a volume still stages: the session really works again.
		v := stagedBlock(t, d, ctx)
		if err := d.Unstage(ctx, v); err != nil {
			t.Error(err)
		}
	})

	// multipathd with a configuration that takes every disk (Debian's
	// default, find_multipaths strict, takes only known WWIDs) claims a
	// staged volume's disk; the blacklist the doctor gives releases it.
	t.Run("multipathd claims a disk", func(t *testing.T) {
		if exec.Command("multipathd", "show", "daemon").Run() == nil {
			t.Skip("this host runs its own multipathd: the test would change its configuration")
		}
		const conf = "/etc/multipath.conf"
		saved, savedErr := os.ReadFile(conf)
		t.Cleanup(func() {
			_ = exec.Command("multipathd", "shutdown").Run()
			waitFor(t, "multipathd to stop", 30*time.Second, func() bool {
				return exec.Command("pgrep", "-x", "multipathd").Run() != nil
			})
			_ = exec.Command("multipath", "-F").Run()
			if savedErr == nil {
				_ = os.WriteFile(conf, saved, 0o644)
			} else {
				_ = os.Remove(conf)
			}
		})
		v := stagedBlock(t, d, ctx)
		iqn := v.PublishContext["iqn"]
		disk := sessionDisk(t, iqn)

		if err := os.WriteFile(conf, []byte("defaults {\n\tfind_multipaths no\n}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		run(t, "modprobe", "dm-multipath")
		// Not run(): the daemon's child could hold a captured stdout open.
		if err := exec.Command("multipathd").Run(); err != nil {
			t.Fatalf("multipathd: %v", err)
		}
		waitFor(t, "multipathd to claim "+disk, time.Minute, func() bool { return mpathHolder(disk) != "" })
		r := doctor(t, "node")
		f := r.naming(t, "multipathd", disk)
		if f.Severity != "error" || !strings.Contains(f.What, iqn) {
			t.Fatalf("multipathd %+v; want an error naming %s", f, iqn)
		}

		// The fix as the finding gives it: the blacklist, a reconfigure,
		// and multipath -f for a map still there.
		blacklist := "defaults {\n\tfind_multipaths no\n}\nblacklist {\n\tdevice {\n\t\tvendor \"IET\"\n\t\tproduct \"VIRTUAL-DISK\"\n\t}\n}\n"
		if !strings.Contains(f.Fix, `vendor "IET" product "VIRTUAL-DISK"`) || !strings.Contains(f.Fix, "multipathd reconfigure") {
			t.Fatalf("fix %q: want the blacklist and a reconfigure", f.Fix)
		}
		if err := os.WriteFile(conf, []byte(blacklist), 0o644); err != nil {
			t.Fatal(err)
		}
		run(t, "multipathd", "reconfigure")
		// The reconfigure drops the map in the background; give it 10 s.
		for end := time.Now().Add(10 * time.Second); mpathHolder(disk) != "" && time.Now().Before(end); {
			time.Sleep(time.Second)
		}
		if name := mpathHolder(disk); name != "" {
			if !strings.Contains(f.Fix, "multipath -f "+name) {
				t.Errorf("fix %q does not name the map %s", f.Fix, name)
			}
			run(t, "multipath", "-f", name)
		}
		waitFor(t, "multipathd to let go of "+disk, 30*time.Second, func() bool { return mpathHolder(disk) == "" })
		r = doctor(t, "node")
		if fs := r.of("multipathd"); len(fs) != 1 || fs[0].Severity != "ok" || !strings.Contains(fs[0].What, "runs") {
			t.Errorf("after the blacklist: multipathd %+v; want ok, running", r.of("multipathd"))
		}
		// multipathd remembered the disk's WWID (/etc/multipath/wwids): forget it.
		_ = exec.Command("multipath", "-w", "/dev/"+disk).Run()
		if err := d.Unstage(ctx, v); err != nil {
			t.Error(err)
		}
	})
}

// poolPercent reads a thin pool's data_percent or metadata_percent.
func poolPercent(t *testing.T, lv, field string) float64 {
	t.Helper()
	out := strings.TrimSpace(run(t, "lvs", "--noheadings", "-o", field, lv))
	p, err := strconv.ParseFloat(out, 64)
	if err != nil {
		t.Fatalf("lvs -o %s %s: %q", field, lv, out)
	}
	return p
}

// sessionDisk is the block device (sdX) of the session to iqn.
func sessionDisk(t *testing.T, iqn string) string {
	t.Helper()
	dir := sessionDir(iqn)
	disks, _ := filepath.Glob(filepath.Join(dir, "device", "target*", "*", "block", "*"))
	if dir == "" || len(disks) != 1 {
		t.Fatalf("session to %s: %q, disks %q", iqn, dir, disks)
	}
	return filepath.Base(disks[0])
}

// mpathHolder is the name of the multipath map holding disk, or "".
func mpathHolder(disk string) string {
	holders, _ := filepath.Glob(filepath.Join("/sys/class/block", disk, "holders", "*"))
	for _, h := range holders {
		if strings.HasPrefix(readSys(filepath.Join(h, "dm", "uuid")), "mpath-") {
			return readSys(filepath.Join(h, "dm", "name"))
		}
	}
	return ""
}
