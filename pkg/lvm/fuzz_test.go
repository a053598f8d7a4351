package lvm

import (
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Fuzz targets for the lvs/vgs JSON report parsers (run by "make fuzz"),
// seeded with every recorded report in testdata/. LV tags and names are
// set by whoever runs lvm on the host, so the report is parsed as data:
// these check that no input panics, that every LV or VG comes from a row
// of the report, and that no number is made up.

func seedReports(f *testing.F, pattern string) {
	f.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no seed reports %s: %v", pattern, err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// checkBytes fails unless n is what text, a report size field, says.
func checkBytes(t *testing.T, field, text string, n uint64) {
	t.Helper()
	s := strings.TrimSuffix(strings.TrimSpace(text), "B")
	if u, err := strconv.ParseUint(s, 10, 64); err == nil {
		if u != n {
			t.Fatalf("%s %q parsed as %d", field, text, n)
		}
		return
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f >= math.MaxUint64 || n != uint64(f) {
		t.Fatalf("%s %q parsed as %d", field, text, n)
	}
}

func checkPercent(t *testing.T, field string, p float64) {
	t.Helper()
	if math.IsNaN(p) || math.IsInf(p, 0) || p < 0 {
		t.Fatalf("%s parsed as %v", field, p)
	}
}

// outOfRange are size and percentage fields no number fits: ParseFloat
// reads them, but as infinities, NaN or values past 2^64.
var outOfRange = []string{"Inf", "-Inf", "NaN", "1e30", "18446744073709551616", "-1"}

func FuzzParseLVs(f *testing.F) {
	seedReports(f, "lvs-*.stdout")
	one, err := os.ReadFile(filepath.Join("testdata", "lvs-one.stdout"))
	if err != nil {
		f.Fatal(err)
	}
	for _, bad := range outOfRange {
		f.Add([]byte(strings.Replace(string(one), `"lv_size":"67108864"`, `"lv_size":"`+bad+`"`, 1)))
		f.Add([]byte(strings.Replace(string(one), `"data_percent":""`, `"data_percent":"`+bad+`"`, 1)))
	}
	f.Fuzz(func(t *testing.T, out []byte) {
		lvs, err := parseLVs(out)
		if err != nil {
			return
		}
		r, err := parseReport(out)
		if err != nil {
			t.Fatalf("parseLVs accepted what parseReport refuses: %v", err)
		}
		var rows []lvRow
		for _, part := range r.Report {
			for _, row := range part.LV {
				if !strings.HasPrefix(row.Name, "[") {
					rows = append(rows, row)
				}
			}
		}
		if len(lvs) != len(rows) {
			t.Fatalf("%d LVs from %d visible rows", len(lvs), len(rows))
		}
		for i, lv := range lvs {
			row := rows[i]
			if lv.Name != row.Name || lv.VG != row.VG || lv.Path != row.Path || lv.Attr != row.Attr {
				t.Fatalf("LV %+v from row %+v", lv, row)
			}
			checkBytes(t, "lv_size", row.Size, lv.Size)
			checkPercent(t, "data_percent", lv.DataPercent)
			checkPercent(t, "metadata_percent", lv.MetadataPercent)
			for _, tag := range lv.Tags {
				if tag == "" || strings.Contains(tag, ",") || !strings.Contains(row.Tags, tag) {
					t.Fatalf("tag %q not in %q", tag, row.Tags)
				}
			}
		}
	})
}

func FuzzParseVGs(f *testing.F) {
	seedReports(f, "vgs-*.stdout")
	fresh, err := os.ReadFile(filepath.Join("testdata", "vgs-fresh.stdout"))
	if err != nil {
		f.Fatal(err)
	}
	for _, bad := range outOfRange {
		f.Add([]byte(strings.Replace(string(fresh), `"vg_free":"1069547520"`, `"vg_free":"`+bad+`"`, 1)))
	}
	f.Fuzz(func(t *testing.T, out []byte) {
		vgs, err := parseVGs(out)
		if err != nil {
			return
		}
		r, err := parseReport(out)
		if err != nil {
			t.Fatalf("parseVGs accepted what parseReport refuses: %v", err)
		}
		var rows []vgRow
		for _, part := range r.Report {
			rows = append(rows, part.VG...)
		}
		if len(vgs) != len(rows) {
			t.Fatalf("%d VGs from %d rows", len(vgs), len(rows))
		}
		for i, vg := range vgs {
			if vg.Name != rows[i].Name || vg.UUID != rows[i].UUID {
				t.Fatalf("VG %+v from row %+v", vg, rows[i])
			}
			checkBytes(t, "vg_size", rows[i].Size, vg.Size)
			checkBytes(t, "vg_free", rows[i].Free, vg.Free)
			checkBytes(t, "vg_extent_size", rows[i].ExtentSize, vg.ExtentSize)
		}
	})
}
