package driver

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/atomicfile"
)

// stageRecord is what NodeUnstageVolume needs after a reboot or a plugin
// restart, when publish_context is no longer given: which target to log out
// of. It never holds CHAP credentials. It is written before the login, so a
// crash between the two leaves a record that unstage can act on.
type stageRecord struct {
	Portal      string `json:"portal"`
	IQN         string `json:"iqn"`
	LUN         int    `json:"lun"`
	StagingPath string `json:"stagingPath"`
	// ReadOnly: the filesystem was staged read-only on purpose (mount
	// flag ro), so a read-only staging mount is not a filesystem that
	// went read-only after errors.
	ReadOnly bool `json:"readOnly,omitempty"`
}

// stageRecords stores one record per volume under dir (in --state-dir,
// never /run, so they survive a reboot).
type stageRecords struct{ dir string }

func (s stageRecords) path(volumeID string) string {
	return filepath.Join(s.dir, volumeID+".json") // volumeID validated by the caller
}

func (s stageRecords) save(volumeID string, r stageRecord) error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return err
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return atomicfile.Write(s.path(volumeID), b, 0o600)
}

// load returns the record, or nil when there is none.
func (s stageRecords) load(volumeID string) (*stageRecord, error) {
	b, err := os.ReadFile(s.path(volumeID))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var r stageRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

func (s stageRecords) remove(volumeID string) error {
	err := os.Remove(s.path(volumeID))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
