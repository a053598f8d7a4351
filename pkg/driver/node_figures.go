package driver

import (
	"errors"
	"io/fs"
	"os"
	"strings"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/iscsi"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/pool"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/publish"
)

// StagedVolumes counts the volumes staged on this node: its stage records
// (nodestate.go), a directory listing and no command, so metrics can ask
// at every scrape. A record is written before the login and removed after
// the logout, so a stage or unstage under way counts.
func (s *NodeServer) StagedVolumes() (int, error) {
	entries, err := os.ReadDir(s.svc.records.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		if id, ok := strings.CutSuffix(e.Name(), ".json"); ok && pool.ValidVolumeID(id) {
			n++
		}
	}
	return n, nil
}

// SessionsByState counts the sessions to targets of this driver's volumes
// (an IQN ending in a volume id) by kernel state; other sessions of the
// host are not ours to report.
func SessionsByState(sessions []iscsi.SessionState) map[string]int {
	counts := map[string]int{}
	for _, s := range sessions {
		if id, ok := publish.VolumeIDOf(s.Target); ok && pool.ValidVolumeID(id) {
			counts[s.State]++
		}
	}
	return counts
}
