package main

import (
	"slices"
	"strings"
	"testing"
)

// A seeded volume must carry exactly the tags the driver gave the template
// volume, with only what is per volume (its name) replaced, so ListVolumes
// and the reconciler take it for one of the driver's own.
func TestSeedTagsSubstituteTheNameAndKeepEverythingElse(t *testing.T) {
	template := []string{"lic.v1", "lic.name=" + b64.EncodeToString([]byte("bench-heal-7")), "lic.prov=thin",
		"lic.pub=ZTJlLW5vZGU.aXFuLmZvbw", "lic.chap=2"}
	got, err := seedTags(template, "bench-seed-1", true)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"lic.v1", "lic.name=" + b64.EncodeToString([]byte("bench-seed-1")), "lic.prov=thin",
		"lic.pub=ZTJlLW5vZGU.aXFuLmZvbw", "lic.chap=2"}
	if !slices.Equal(got, want) {
		t.Errorf("published seed tags = %v, want %v", got, want)
	}
	got, err = seedTags(template, "bench-seed-2", false)
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"lic.v1", "lic.name=" + b64.EncodeToString([]byte("bench-seed-2")), "lic.prov=thin", "lic.chap=2"}
	if !slices.Equal(got, want) {
		t.Errorf("unpublished seed tags = %v, want %v", got, want)
	}
	if template[1] != "lic.name="+b64.EncodeToString([]byte("bench-heal-7")) {
		t.Error("seedTags changed its template")
	}
}

// A template that is not a plain published volume (not ours, no name, a
// snapshot, a source, a state) would seed something else than volumes:
// refused.
func TestSeedTagsRefuseATemplateThatIsNotAPlainPublishedVolume(t *testing.T) {
	base := []string{"lic.v1", "lic.name=YQ", "lic.prov=thin", "lic.pub=YQ.Yg"}
	for _, tc := range []struct {
		why  string
		tags []string
	}{
		{"not ours", []string{"lic.name=YQ", "lic.prov=thin", "lic.pub=YQ.Yg"}},
		{"no name", []string{"lic.v1", "lic.prov=thin", "lic.pub=YQ.Yg"}},
		{"not published", []string{"lic.v1", "lic.name=YQ", "lic.prov=thin"}},
		{"a snapshot", append(slices.Clone(base), "lic.kind=snapshot")},
		{"made from a source", append(slices.Clone(base), "lic.src=csi-0123")},
		{"being deleted", append(slices.Clone(base), "lic.state=deleting")},
		{"growing", append(slices.Clone(base), "lic.grow=4096")},
	} {
		if _, err := seedTags(tc.tags, "x", true); err == nil {
			t.Errorf("%s (%v): seedTags accepted it", tc.why, tc.tags)
		}
	}
}

// The seeding script: one lvcreate per line, the published volumes active,
// the others created inactive, every tag as --addtag, lvm's metadata backup
// off.
func TestSeedScript(t *testing.T) {
	b := &bench{config: config{vg: "vg0", pool: "pool"}}
	script := b.seedScript([]seedLV{
		{id: "csi-aaaa", tags: []string{"lic.v1", "lic.name=YQ"}, active: true},
		{id: "csi-bbbb", tags: []string{"lic.v1"}, active: false},
	}, 4<<20)
	lines := strings.Split(strings.TrimSpace(script), "\n")
	if len(lines) != 2 {
		t.Fatalf("script has %d lines, want 2:\n%s", len(lines), script)
	}
	if want := "lvcreate -y -ay -n csi-aaaa -V 4194304b --thinpool pool --addtag lic.v1 --addtag lic.name=YQ --config " + seedConfig + " vg0"; lines[0] != want {
		t.Errorf("line 1 = %q, want %q", lines[0], want)
	}
	if want := "lvcreate -y -an -n csi-bbbb -V 4194304b --thinpool pool --addtag lic.v1 --config " + seedConfig + " vg0"; lines[1] != want {
		t.Errorf("line 2 = %q, want %q", lines[1], want)
	}
}

// A count that is both a listing's and a reconcile pass's is measured once:
// the first full run with them recorded each figure twice, which the
// run's own completeness check refused.
func TestSortedUnionMeasuresEachCountOnce(t *testing.T) {
	got := sortedUnion([]int{1000}, []int{1000, 500})
	if !slices.Equal(got, []int{500, 1000}) {
		t.Fatalf("sortedUnion = %v, want [500 1000]", got)
	}
}
