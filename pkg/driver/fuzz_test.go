package driver

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/iscsi"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/pool"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/publish"
)

// Fuzz targets for every check of what arrives over gRPC. Each states what
// an accepted input must be, so the fuzzer hunts for input that passes a
// check without having the property the check exists for. `make fuzz`
// runs each briefly; `go test` runs the seeds.

func FuzzValidateName(f *testing.F) {
	for _, s := range []string{"pvc-1", "", strings.Repeat("n", 129), "\xff", "ü/../x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if validateName(name) != nil {
			return
		}
		if name == "" || len(name) > maxNameBytes || !utf8.ValidString(name) {
			t.Fatalf("accepted name %q", name)
		}
		// Any accepted name maps to an id that is safe as an LV name.
		if id := pool.VolumeID(name); !pool.ValidVolumeID(id) {
			t.Fatalf("name %q maps to an invalid id %q", name, id)
		}
	})
}

func FuzzParseNodeID(f *testing.F) {
	for _, s := range []string{testNodeA, "n/iqn.1993-08.org.debian:01:x --op delete", "a/b/c", "/iqn.x", "n/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		node, key, err := parseNodeID(id)
		if err != nil {
			return
		}
		name, iqn, _ := strings.Cut(id, "/")
		if key != nil {
			iqn = iqn[:strings.LastIndexByte(iqn, '/')]
		}
		if node.ID != id || node.Initiator != iqn || len(id) > maxNodeIDBytes ||
			!nodeNamePattern.MatchString(name) || !iscsi.ValidIQN(iqn) ||
			strings.ContainsAny(iqn, " \t\n\x00/\\'\"$`;|&") {
			t.Fatalf("accepted node id %q as %+v", id, node)
		}
	})
}

func FuzzCheckVolumeID(f *testing.F) {
	for _, s := range []string{pool.VolumeID("x"), "../../etc", "csi-", pool.SnapshotID("x")} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if checkVolumeID(id) == nil && (!pool.ValidVolumeID(id) || strings.ContainsAny(id, "/.\x00 ")) {
			t.Fatalf("accepted volume id %q", id)
		}
	})
}

func FuzzCheckPath(f *testing.F) {
	const kubelet = "/var/lib/kubelet"
	for _, s := range []string{kubelet + "/pods/x/mount", kubelet, kubelet + "/../etc", "/var/lib/kubelet2/x", "relative", kubelet + "//x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if checkPath(kubelet, "path", p) != nil {
			return
		}
		rel, err := filepath.Rel(kubelet, p)
		if err != nil || !filepath.IsAbs(p) || filepath.Clean(p) != p || rel == "." || rel == ".." || strings.HasPrefix(rel, "../") {
			t.Fatalf("accepted path %q outside %s", p, kubelet)
		}
	})
}

func FuzzParseParameters(f *testing.F) {
	f.Add("provisioning", "thin", "blockSize", "1024")
	f.Add("provisioning", "fat", "", "")
	f.Add("csi.storage.k8s.io/fstype", "xfs", "blockSize", "512")
	f.Add("blockSize", "4096 ", "x", "y")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		params := map[string]string{k1: v1, k2: v2}
		p, err := ParseParameters(params, ParameterEnv{DefaultProvisioning: pool.Thick})
		if err != nil {
			return
		}
		for k, v := range params {
			if strings.HasPrefix(k, kubernetesParamPrefix) {
				continue
			}
			d := lookupParameter(k)
			if d == nil || !d.allows(v) {
				t.Fatalf("accepted %s=%q", k, v)
			}
		}
		if p.Provisioning != pool.Thin && p.Provisioning != pool.Thick {
			t.Fatalf("provisioning %q from %v", p.Provisioning, params)
		}
		// What the node reads back is what the controller parsed.
		back, err := ParseVolumeContext(p.VolumeContext())
		if err != nil || back.BlockSize != p.BlockSize {
			t.Fatalf("volume_context %v reads back as %+v, %v; want block size %d", p.VolumeContext(), back, err, p.BlockSize)
		}
		for _, fs := range []string{"ext4", "xfs"} {
			for _, o := range p.FormatOptions(fs) {
				if strings.ContainsAny(o, " \t\n;|&$`") {
					t.Fatalf("mkfs option %q", o)
				}
			}
		}
	})
}

func FuzzTargetFrom(f *testing.F) {
	id := pool.VolumeID("pvc-1")
	f.Add(id, "192.0.2.10:3260", DefaultIQNPrefix+":"+id, "1", "u", "p")
	f.Add(id, "storage.example:3260", DefaultIQNPrefix+":x"+id, "256", "", "p")
	f.Add(id, "[2001:db8::1]:3260", "iqn.2003-01.org.example:storage:"+id, "0", "", "")
	f.Fuzz(func(t *testing.T, volumeID, portal, iqn, lun, user, pass string) {
		pc := map[string]string{publish.KeyPortal: portal, publish.KeyIQN: iqn, publish.KeyLUN: lun, publish.KeyCHAPUser: user, publish.KeyCHAPPassword: pass}
		tg, err := targetFrom(volumeID, pc)
		if err != nil {
			return
		}
		if !iscsi.ValidPortal(tg.Portal) || !iscsi.ValidIQN(tg.IQN) || !publish.IsTargetOf(tg.IQN, volumeID) || tg.LUN < 0 || tg.LUN > 255 {
			t.Fatalf("accepted publish_context %v for %q as %+v", pc, volumeID, tg)
		}
		// CHAP: clear credentials (version 0.1's form) only whole; sealed
		// ones only with a key that opens them for this volume.
		chap, err := chapFrom(volumeID, pc, nil)
		if err != nil {
			return
		}
		if (user == "") != (pass == "") || (chap == nil) != (user == "") {
			t.Fatalf("half a CHAP credential accepted: %v", pc)
		}
	})
}

func FuzzCheckCapabilityMountFlags(f *testing.F) {
	f.Add("noatime")
	f.Add("x; rm -rf /")
	f.Add("context=\"system_u:object_r\"")
	f.Fuzz(func(t *testing.T, flag string) {
		c := mountCap(0)
		c.AccessMode.Mode = 1 // SINGLE_NODE_WRITER
		c.GetMount().MountFlags = []string{flag}
		if checkCapability(c) == "" && !mountFlagPattern.MatchString(flag) {
			t.Fatalf("accepted mount flag %q", flag)
		}
		if checkCapability(c) == "" && slices.ContainsFunc([]rune(flag), func(r rune) bool { return strings.ContainsRune(" \t\n\"'`$;|&", r) }) {
			t.Fatalf("accepted mount flag %q with shell or blank characters", flag)
		}
	})
}
