package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Seeding: the full run measures healing, ListVolumes and a reconcile pass
// at counts (500 published, 1000 in all) that CreateVolume and
// ControllerPublishVolume would take most of an hour of emulated guest time
// to reach. The bench writes those LVs itself instead, untimed: each with
// the tag set of a volume the driver really created and published in this
// run, only the per-volume tag (the name) replaced, under the LV name the
// driver gives that name (pool.VolumeID). ListVolumes and the reconciler
// then take them for the driver's own: everything they know of a volume is
// in its LV name and tags (CHAP credentials are derived from the id, not
// stored).

// seedLV is one LV to seed.
type seedLV struct {
	id     string
	tags   []string
	active bool // published: tgtd must be able to open it
}

// seedSize is a seeded volume's size: thin, so only the thin pool's
// allowance pays for it.
const seedSize = 4 << 20

// seedTags returns the tags of a seeded volume named name, from the tags of
// a published volume the driver made (template): the name tag replaced,
// the publication tags kept (published) or dropped. A template with tags of
// anything but a plain published volume is refused: copying a snapshot's,
// a clone's or a deleting volume's tags would seed something else.
func seedTags(template []string, name string, published bool) ([]string, error) {
	var out []string
	var owner, named, pub bool
	for _, t := range template {
		switch {
		case t == "lic.v1":
			owner = true
		case strings.HasPrefix(t, "lic.name="):
			named = true
			t = "lic.name=" + b64.EncodeToString([]byte(name))
		case strings.HasPrefix(t, "lic.pub="):
			pub = true
			if !published {
				continue
			}
		case strings.HasPrefix(t, "lic.kind="), strings.HasPrefix(t, "lic.src="), strings.HasPrefix(t, "lic.state="),
			strings.HasPrefix(t, "lic.grow="), strings.HasPrefix(t, "lic.time="), strings.HasPrefix(t, "lic.size="),
			t == "lic.rotate":
			return nil, fmt.Errorf("template tag %q: not a plain published volume", t)
		}
		out = append(out, t)
	}
	if !owner || !named || !pub {
		return nil, fmt.Errorf("template tags %v: not a published volume of the driver (lic.v1, lic.name=, lic.pub= wanted)", template)
	}
	return out, nil
}

// seedConfig is the driver's device filter (lvmConfig) plus no metadata
// backup or archive: each commit otherwise writes the whole VG's metadata
// to /etc/lvm/archive, a thousand ever larger files. It is in the lvm
// shell's quoting (single quotes; the shell does not take \").
const seedConfig = `'backup { backup=0 archive=0 } devices { global_filter = [ "r|^/dev/disk/by-path/.*-iscsi-.*|" ] }'`

// seedScript is the lvm shell script that creates lvs: one lvcreate a line
// (lvm reads commands from stdin; one process for all of them saves a
// process start and a device scan per LV). Unpublished volumes are created
// inactive: nothing opens them, and activation is a device-mapper device
// and udev events per LV.
func (b *bench) seedScript(lvs []seedLV, size uint64) string {
	var s strings.Builder
	for _, lv := range lvs {
		act := "-an"
		if lv.active {
			act = "-ay"
		}
		args := []string{"lvcreate", "-y", act, "-n", lv.id, "-V", bytesArg(size), "--thinpool", b.pool}
		args = append(args, tagArgs("--addtag", lv.tags)...)
		args = append(args, "--config", seedConfig)
		s.WriteString(strings.Join(append(args, b.vg), " ") + "\n")
	}
	return s.String()
}

// seed creates lvs through one lvm shell, in batches so the log shows the
// rate as the VG grows, then checks with lvs that every one is there with
// its tags (the lvm shell exits 0 whatever its commands did).
func (b *bench) seed(ctx context.Context, lvs []seedLV) error {
	const batch = 100
	for i := 0; i < len(lvs); i += batch {
		part := lvs[i:min(i+batch, len(lvs))]
		c := exec.CommandContext(ctx, "lvm")
		c.Env = append(c.Environ(), "LC_ALL=C", "LVM_SUPPRESS_FD_WARNINGS=1")
		c.Stdin = strings.NewReader(b.seedScript(part, seedSize))
		start := time.Now()
		out, err := c.CombinedOutput()
		if err != nil {
			return fmt.Errorf("lvm shell: %w: %s", err, lastLines(string(out), 5))
		}
		// The lvm shell says "created" per LV; anything else (warnings,
		// the error of a command that failed) goes to the log.
		var other []string
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if line != "" && !strings.Contains(line, "\" created.") {
				other = append(other, strings.TrimSpace(line))
			}
		}
		if len(other) > 0 {
			say("    lvm said (%d lines besides the creations), last: %s", len(other), strings.Join(other[max(0, len(other)-4):], " | "))
			b.seedSaid = other[max(0, len(other)-4):]
		}
		secs := time.Since(start).Seconds()
		say("    seeded %d-%d of %d: %.1f s, %.0f ms per LV", i+1, i+len(part), len(lvs), secs, 1000*secs/float64(len(part)))
		b.seedRates = append(b.seedRates, secs/float64(len(part)))
		b.seedTime += time.Since(start)
		b.seeded += len(part)
	}
	if size, free, err := b.mdaFree(ctx); err == nil {
		say("    metadata area %d KiB, %d KiB free", size>>10, free>>10)
	}
	have, err := b.lvTags(ctx)
	if err != nil {
		return err
	}
	for _, lv := range lvs {
		got, ok := have[lv.id]
		if !ok || !slices.Equal(sorted(got), sorted(lv.tags)) {
			return fmt.Errorf("seeded LV %s: tags %v (present %v), want %v; lvm's last words: %s", lv.id, got, ok, lv.tags, strings.Join(b.seedSaid, " | "))
		}
	}
	return nil
}

// lvTags reads every LV of the VG with its tags.
func (b *bench) lvTags(ctx context.Context) (map[string][]string, error) {
	out, err := cmd(ctx, "", b.lvm("lvs", "--reportformat", "json", "-o", "lv_name,lv_tags", b.vg)...)
	if err != nil {
		return nil, err
	}
	var rep struct {
		Report []struct {
			LV []struct {
				Name string `json:"lv_name"`
				Tags string `json:"lv_tags"`
			} `json:"lv"`
		} `json:"report"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		return nil, fmt.Errorf("lvs report: %w", err)
	}
	m := map[string][]string{}
	for _, r := range rep.Report {
		for _, lv := range r.LV {
			var tags []string
			if lv.Tags != "" {
				tags = strings.Split(lv.Tags, ",")
			}
			m[lv.Name] = tags
		}
	}
	return m, nil
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], " | ")
}

// mdaFree reads the VG's metadata area: its size and what is free of it
// (vg_mda_free already keeps room for the copy lvm writes next).
func (b *bench) mdaFree(ctx context.Context) (size, free uint64, err error) {
	out, err := cmd(ctx, "", b.lvm("vgs", "--noheadings", "--units", "b", "--nosuffix", "-o", "vg_mda_size,vg_mda_free", b.vg)...)
	if err != nil {
		return 0, 0, err
	}
	f := strings.Fields(string(out))
	if len(f) != 2 {
		return 0, 0, fmt.Errorf("vgs vg_mda_size,vg_mda_free: %q", out)
	}
	if size, err = strconv.ParseUint(f[0], 10, 64); err == nil {
		free, err = strconv.ParseUint(f[1], 10, 64)
	}
	return size, free, err
}
