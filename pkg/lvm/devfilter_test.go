package lvm

import (
	"context"
	"reflect"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner/runnertest"
)

// lvmconfig's output, as lvm 2.03.16 printed it on this project's machine
// with the driver's default --config.
const lvmconfigOut = `global_filter=["r|^/dev/disk/by-path/.*-iscsi-.*|","a|.*|"]
filter=["a|.*|"]
use_devicesfile=0
devicesfile="system.devices"
`

func TestDeviceFilterReadsLvmconfigWithTheDriversConfig(t *testing.T) {
	cfg := `devices { global_filter = [ "r|^/dev/disk/by-path/.*-iscsi-.*|", "a|.*|" ] }`
	fake := runnertest.NewFake(t, runnertest.Call{
		Argv:   []string{"lvmconfig", "--config", cfg, "--typeconfig", "full", "devices/global_filter", "devices/filter", "devices/use_devicesfile", "devices/devicesfile"},
		Stdout: lvmconfigOut,
	})
	l := New(runner.New(fake, 0), 1, WithGlobalFilter("r|^/dev/disk/by-path/.*-iscsi-.*|", "a|.*|"))
	got, err := l.DeviceFilter(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := &DeviceFilter{GlobalFilter: []string{"r|^/dev/disk/by-path/.*-iscsi-.*|", "a|.*|"}, Filter: []string{"a|.*|"}, DevicesFile: "system.devices"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("DeviceFilter = %+v, want %+v", got, want)
	}
}

func TestFilterRejects(t *testing.T) {
	iscsiDisk := []string{"/dev/sdc", "/dev/disk/by-path/ip-10.0.0.5:3260-iscsi-iqn.2026-11.io.csi.lvm-iscsi:csi-0123456789abcdef0123456789ab-lun-1"}
	cases := []struct {
		name     string
		patterns []string
		want     bool
	}{
		{"the driver's default", []string{"r|^/dev/disk/by-path/.*-iscsi-.*|"}, true},
		// lvm.conf(5): a device is accepted when any of its names is;
		// /dev/sdc meets "a|.*|" first, so this keeps the disk.
		{"default then accept all", []string{"r|^/dev/disk/by-path/.*-iscsi-.*|", "a|.*|"}, false},
		{"accept all first", []string{"a|.*|", "r|^/dev/disk/by-path/.*-iscsi-.*|"}, false},
		{"distribution default", []string{"a|.*|"}, false},
		{"nothing set", nil, false},
		{"accepts the sd name", []string{"a|^/dev/sd.*|", "r|.*|"}, false},
		{"only local disks", []string{"a|^/dev/nvme.*|", "r|.*|"}, true},
		{"other delimiter", []string{"r/-iscsi-/"}, true},
		{"bracket delimiter", []string{"r(-iscsi-)"}, true},
	}
	for _, tc := range cases {
		got, err := FilterRejects(tc.patterns, iscsiDisk)
		if err != nil || got != tc.want {
			t.Errorf("%s: FilterRejects(%q) = %v, %v; want %v", tc.name, tc.patterns, got, err, tc.want)
		}
	}
	for _, bad := range []string{"x|a|", "r|a", "r", "r|(|"} {
		if _, err := FilterRejects([]string{bad}, iscsiDisk); err == nil {
			t.Errorf("FilterRejects(%q) accepted a malformed pattern", bad)
		}
	}
}

// lvmconfig prints a list of one element as a plain string (recorded with
// lvm 2.03.16: --config 'devices { global_filter = [ "r|x|" ] }').
func TestParseDeviceFilterOneElementList(t *testing.T) {
	got, err := parseDeviceFilter([]byte("global_filter=\"r|^/dev/disk/by-path/.*-iscsi-.*|\"\nfilter=[\"a|.*|\",\"r|x|\"]\nuse_devicesfile=1\ndevicesfile=\"system.devices\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := &DeviceFilter{GlobalFilter: []string{"r|^/dev/disk/by-path/.*-iscsi-.*|"}, Filter: []string{"a|.*|", "r|x|"}, UseDevicesFile: true, DevicesFile: "system.devices"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("parseDeviceFilter = %+v, want %+v", got, want)
	}
}
