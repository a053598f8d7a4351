package pool

import (
	"testing"
)

// AllHealth says what VolumeHealth says of each volume, and the thin
// pool's use, from one listing.
func TestAllHealthIsVolumeHealthOfEveryVolume(t *testing.T) {
	e := newEnv(t, true)
	e.pool.cfg.ThinPoolWarnPercent = 80
	thin := e.create(t, "thin", 64*mib, Thin)
	thick := e.create(t, "thick", 64*mib, Thick)
	if err := e.lvm.SetDataPercent(testPool, 91.5); err != nil {
		t.Fatal(err)
	}
	if err := e.lvm.SetMetadataPercent(testPool, 12.25); err != nil {
		t.Fatal(err)
	}
	all, err := e.pool.AllHealth(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if all.ThinPool != testVG+"/"+testPool || all.Data != 91.5 || all.Metadata != 12.25 {
		t.Errorf("thin pool %q at %v%% data, %v%% metadata; want %s/%s at 91.5, 12.25", all.ThinPool, all.Data, all.Metadata, testVG, testPool)
	}
	if len(all.Volumes) != 2 {
		t.Fatalf("%d volumes, want 2: %+v", len(all.Volumes), all.Volumes)
	}
	for _, v := range all.Volumes {
		want, err := e.pool.VolumeHealth(e.ctx, v.Volume.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(want) != len(v.Health) || (len(want) == 1 && want[0] != v.Health[0]) {
			t.Errorf("volume %s: AllHealth %+v, VolumeHealth %+v", v.Volume.ID, v.Health, want)
		}
		switch v.Volume.ID {
		case thin.ID:
			if len(v.Health) != 1 || v.Volume.Name != "thin" {
				t.Errorf("the thin volume: %+v", v)
			}
		case thick.ID:
			if len(v.Health) != 0 {
				t.Errorf("the thick volume: %+v", v)
			}
		}
	}
}

func TestAllHealthWithoutThinPool(t *testing.T) {
	e := newEnv(t, false)
	e.create(t, "thick", 64*mib, Thick)
	all, err := e.pool.AllHealth(e.ctx)
	if err != nil || all.ThinPool != "" || len(all.Volumes) != 1 || len(all.Volumes[0].Health) != 0 {
		t.Fatalf("AllHealth without a thin pool = %+v, %v", all, err)
	}
}
