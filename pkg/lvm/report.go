package lvm

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// vgFields and lvFields are the report columns asked for, in the order of
// vgRow and lvRow. Asking explicitly keeps the parse independent of the
// administrator's lvm.conf report settings.
const (
	vgFields = "vg_name,vg_uuid,vg_size,vg_free,vg_extent_size"
	lvFields = "lv_name,vg_name,lv_uuid,lv_size,lv_attr,lv_tags,pool_lv,origin,data_percent,metadata_percent,lv_path"
)

// reportArgs are the options every report command gets: JSON, sizes in
// plain bytes.
var reportArgs = []string{"--reportformat", "json", "--units", "b", "--nosuffix"}

// lvm's JSON report prints every value as a string.
type vgRow struct {
	Name       string `json:"vg_name"`
	UUID       string `json:"vg_uuid"`
	Size       string `json:"vg_size"`
	Free       string `json:"vg_free"`
	ExtentSize string `json:"vg_extent_size"`
}

type lvRow struct {
	Name            string `json:"lv_name"`
	VG              string `json:"vg_name"`
	UUID            string `json:"lv_uuid"`
	Size            string `json:"lv_size"`
	Attr            string `json:"lv_attr"`
	Tags            string `json:"lv_tags"`
	PoolLV          string `json:"pool_lv"`
	Origin          string `json:"origin"`
	DataPercent     string `json:"data_percent"`
	MetadataPercent string `json:"metadata_percent"`
	Path            string `json:"lv_path"`
}

type report struct {
	Report []struct {
		VG []vgRow `json:"vg"`
		LV []lvRow `json:"lv"`
	} `json:"report"`
}

func parseReport(out []byte) (*report, error) {
	var r report
	if err := json.Unmarshal(out, &r); err != nil {
		return nil, fmt.Errorf("lvm: parsing report: %w", err)
	}
	return &r, nil
}

// parseVGs returns the VGs of a vgs report.
func parseVGs(out []byte) ([]VG, error) {
	r, err := parseReport(out)
	if err != nil {
		return nil, err
	}
	var vgs []VG
	for _, part := range r.Report {
		for _, row := range part.VG {
			vg := VG{Name: row.Name, UUID: row.UUID}
			if vg.Size, err = parseBytes("vg_size", row.Size); err != nil {
				return nil, err
			}
			if vg.Free, err = parseBytes("vg_free", row.Free); err != nil {
				return nil, err
			}
			if vg.ExtentSize, err = parseBytes("vg_extent_size", row.ExtentSize); err != nil {
				return nil, err
			}
			vgs = append(vgs, vg)
		}
	}
	return vgs, nil
}

// parseLVs returns the LVs of an lvs report, without lvm's hidden sub-LVs
// (printed in brackets, "[pool_tdata]", when -a is given).
func parseLVs(out []byte) ([]LV, error) {
	r, err := parseReport(out)
	if err != nil {
		return nil, err
	}
	var lvs []LV
	for _, part := range r.Report {
		for _, row := range part.LV {
			if strings.HasPrefix(row.Name, "[") {
				continue
			}
			lv, err := row.toLV()
			if err != nil {
				return nil, err
			}
			lvs = append(lvs, lv)
		}
	}
	return lvs, nil
}

func (row *lvRow) toLV() (LV, error) {
	lv := LV{
		Name:   row.Name,
		VG:     row.VG,
		UUID:   row.UUID,
		Attr:   row.Attr,
		Tags:   splitTags(row.Tags),
		PoolLV: row.PoolLV,
		Origin: row.Origin,
		Path:   row.Path,
	}
	lv.Active = lv.attr(attrState) == stateActive
	var err error
	if lv.Size, err = parseBytes("lv_size", row.Size); err != nil {
		return lv, err
	}
	if lv.DataPercent, err = parsePercent("data_percent", row.DataPercent); err != nil {
		return lv, err
	}
	if lv.MetadataPercent, err = parsePercent("metadata_percent", row.MetadataPercent); err != nil {
		return lv, err
	}
	return lv, nil
}

// splitTags splits lv_tags, which lvm joins with commas (a character tags
// cannot contain).
func splitTags(s string) []string {
	var tags []string
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	return tags
}

// parseBytes reads a size printed with --units b --nosuffix. It also takes
// a "B" suffix or a ".00" fraction, in case a configuration overrides the
// suffix or precision settings. What is not a size a uint64 holds
// (negative, NaN, infinite, 2^64 or more) is an error, not a wrapped
// number.
func parseBytes(field, s string) (uint64, error) {
	s = strings.TrimSuffix(strings.TrimSpace(s), "B")
	if n, err := strconv.ParseUint(s, 10, 64); err == nil {
		return n, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !(f >= 0 && f < math.MaxUint64) {
		return 0, fmt.Errorf("lvm: report field %s: %q is not a size in bytes", field, s)
	}
	return uint64(f), nil
}

// parsePercent reads data_percent/metadata_percent; "" (no such value for
// this LV, or it is inactive) is 0. NaN, infinities and negative values
// are errors.
func parsePercent(field, s string) (float64, error) {
	s = strings.TrimSuffix(strings.TrimSpace(s), "%")
	if s == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !(f >= 0 && f <= math.MaxFloat64) {
		return 0, fmt.Errorf("lvm: report field %s: %q is not a percentage", field, s)
	}
	return f, nil
}
