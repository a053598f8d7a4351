package driver

import (
	"os"
	"path/filepath"
	"testing"
)

func TestStageRecordsRoundTrip(t *testing.T) {
	records := stageRecords{dir: filepath.Join(t.TempDir(), "staged")}
	if r, err := records.load(nodeVolA); err != nil || r != nil {
		t.Fatalf("load before save = %v, %v; want nil, nil", r, err)
	}
	want := stageRecord{Portal: nodeTestPortal, IQN: nodeIQN(nodeVolA), LUN: 1, StagingPath: "/var/lib/kubelet/x/globalmount"}
	if err := records.save(nodeVolA, want); err != nil {
		t.Fatal(err)
	}
	// Another volume's record is separate.
	if err := records.save(nodeVolB, stageRecord{Portal: nodeTestPortal, IQN: nodeIQN(nodeVolB), LUN: 1}); err != nil {
		t.Fatal(err)
	}
	got, err := records.load(nodeVolA)
	if err != nil || got == nil || *got != want {
		t.Fatalf("load = %+v, %v; want %+v", got, err, want)
	}
	// Private: the directory and the file are the plugin's alone.
	for path, mode := range map[string]os.FileMode{records.dir: 0o700, records.path(nodeVolA): 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %v (%v), want %v", path, fi.Mode().Perm(), err, mode)
		}
	}

	for i := range 2 { // removing what is gone is success
		if err := records.remove(nodeVolA); err != nil {
			t.Fatalf("remove %d: %v", i+1, err)
		}
	}
	if r, err := records.load(nodeVolA); err != nil || r != nil {
		t.Errorf("load after remove = %v, %v; want nil, nil", r, err)
	}
	if r, err := records.load(nodeVolB); err != nil || r == nil || r.IQN != nodeIQN(nodeVolB) {
		t.Errorf("removing A changed B: %v, %v", r, err)
	}
}

// A damaged record is reported, not taken for a missing one.
func TestStageRecordsDamagedRecordIsAnError(t *testing.T) {
	records := stageRecords{dir: t.TempDir()}
	if err := os.WriteFile(records.path(nodeVolA), []byte(`{"portal":`), 0o600); err != nil {
		t.Fatal(err)
	}
	if r, err := records.load(nodeVolA); err == nil {
		t.Errorf("load of a truncated record = %+v, want an error", r)
	}
}
