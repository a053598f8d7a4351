package driver

import (
	"testing"

	"google.golang.org/grpc/codes"
)

// Node-side StorageClass parameters reach mkfs from volume_context, and
// only when the volume_context carries them.
func TestNodeStageVolumeFormatsWithVolumeContextParameters(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fsType   string
		vc       map[string]string
		commands []string // recorded cases, in order
	}{
		{"ext4 with blockSize", "ext4", map[string]string{"blockSize": "4096"}, []string{"blkid_unformatted", "mkfs_ext4_b4096"}},
		{"default ext4 with blockSize", "", map[string]string{"blockSize": "4096"}, []string{"blkid_unformatted", "mkfs_ext4_b4096"}},
		{"xfs with blockSize", "xfs", map[string]string{"blockSize": "1024"}, []string{"blkid_unformatted", "mkfs_xfs_b1024"}},
		{"no parameters: mkfs's own choice", "ext4", nil, []string{"blkid_unformatted", "mkfs_ext4"}},
		{"only Kubernetes' own keys", "xfs", map[string]string{"storage.kubernetes.io/csiProvisionerIdentity": "1700000000000-8081-lvm-iscsi.csi.io"},
			[]string{"blkid_unformatted", "mkfs_xfs"}},
		{"a formatted disk is never formatted again", "ext4", map[string]string{"blockSize": "1024"}, []string{"blkid_ext4", "fsck_clean"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNodeTest(t, nil)
			dev := n.disks.add(t, nodeVolA, nodeVolA)
			var script []execCall
			for _, name := range tc.commands {
				script = append(script, recordedExec(t, name, dev))
			}
			n.expectCommands(script...) // the argv must match exactly
			req := n.stageReq(nodeVolA, nodeFsCap(tc.fsType))
			req.VolumeContext = tc.vc
			if _, err := n.srv.NodeStageVolume(t.Context(), req); err != nil {
				t.Fatal(err)
			}
			if !n.mounter.isMounted(t, n.stagingPath(nodeVolA)) {
				t.Error("not mounted")
			}
		})
	}
}

// A volume_context value the table does not allow is refused before the
// node logs in, records or runs anything (values go to mkfs's argv).
func TestNodeStageVolumeRejectsBadVolumeContext(t *testing.T) {
	for _, v := range []string{"512", "8192", "1024 -O ^has_journal", "-F", ""} {
		t.Run(v, func(t *testing.T) {
			n := newNodeTest(t, nil)
			n.disks.add(t, nodeVolA, nodeVolA)
			req := n.stageReq(nodeVolA, nodeFsCap("ext4"))
			req.VolumeContext = map[string]string{"blockSize": v}
			_, err := n.srv.NodeStageVolume(t.Context(), req)
			nodeWantCode(t, err, codes.InvalidArgument)
			if logins := n.ini.Logins(); len(logins) != 0 {
				t.Errorf("logged in to %v", logins)
			}
			if n.hasRecord(nodeVolA) {
				t.Error("a stage record was written")
			}
			if calls := n.mounter.take(); len(calls) != 0 {
				t.Errorf("mounted %v", calls)
			}
		})
	}
}
