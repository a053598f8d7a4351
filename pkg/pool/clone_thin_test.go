package pool

import (
	"slices"
	"testing"
)

// A thin clone of a thin source, as large as its source, is made whole by
// one lvcreate -s: its final tags (no "creating": a thin snapshot holds
// all its data the instant it exists, so a crash leaves nothing or the
// whole volume) and no activation skip flag, so it is active without an
// lvchange -ay -K. From a snapshot and from a volume alike.
func TestThinCloneIsMadeWholeByOneLvcreate(t *testing.T) {
	for _, from := range []string{"snapshot", "volume"} {
		t.Run(from, func(t *testing.T) {
			e := newEnv(t, true)
			v := e.create(t, "src", 64*mib, Thin)
			req := CreateRequest{Name: "clone", RequiredSize: 64 * mib, Provisioning: Thin, SourceVolume: v.ID}
			if from == "snapshot" {
				s, err := e.pool.CreateSnapshot(e.ctx, "snap", v.ID)
				if err != nil {
					t.Fatal(err)
				}
				req.SourceVolume, req.SourceSnapshot = "", s.ID
			}
			activations, tagChanges := e.lvm.Calls("Activate"), e.lvm.Calls("ChangeTags")
			c, err := e.pool.Create(e.ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if c.ID != VolumeID("clone") || c.Size != 64*mib || c.Source != req.source() || c.Provisioning != Thin {
				t.Fatalf("clone = %+v", c)
			}
			if n, m := e.lvm.Calls("Activate")-activations, e.lvm.Calls("ChangeTags")-tagChanges; n != 0 || m != 0 {
				t.Errorf("the clone took %d activations and %d tag changes after its lvcreate, want none", n, m)
			}
			lv, err := e.lvm.GetLV(e.ctx, testVG, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			info := parseTags(lv.Tags)
			if !lv.Active || lv.Attr[9] == 'k' || info.creating || info.src != req.source() || info.name != "clone" || info.prov != Thin {
				t.Fatalf("clone LV = %+v, want active, no activation skip, final tags", lv)
			}
			if lv.Origin != req.source() || !slices.Contains(lv.Tags, tagOwner) {
				t.Fatalf("clone LV = %+v, want a thin snapshot of %s", lv, req.source())
			}
			if again, err := e.pool.Create(e.ctx, req); err != nil || again.ID != c.ID || again.Size != c.Size || again.Source != c.Source {
				t.Fatalf("retry = %+v, %v; want %+v", again, err, c)
			}
		})
	}
}
