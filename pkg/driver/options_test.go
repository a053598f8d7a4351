package driver

import (
	"flag"
	"strings"
	"testing"
)

func TestOptionsValidate(t *testing.T) {
	controller := func(mut func(*Options)) Options {
		o := DefaultOptions()
		o.Mode = ModeController
		o.VolumeGroup = "vg0"
		o.Portal = "192.0.2.10:3260"
		if mut != nil {
			mut(&o)
		}
		return o
	}
	node := func(mut func(*Options)) Options {
		o := DefaultOptions()
		o.Mode = ModeNode
		o.NodeID = "worker-1"
		if mut != nil {
			mut(&o)
		}
		return o
	}
	tests := []struct {
		name    string
		opts    Options
		wantErr string // substring; empty means valid
	}{
		{"controller minimal", controller(nil), ""},
		{"controller with thin pool", controller(func(o *Options) { o.ThinPool = "pool0" }), ""},
		{"node minimal", node(nil), ""},
		{"all needs both", func() Options { o := controller(nil); o.Mode = ModeAll; o.NodeID = "n1"; return o }(), ""},
		{"mode missing", func() Options { o := controller(nil); o.Mode = ""; return o }(), "--mode is required"},
		{"controller without vg", controller(func(o *Options) { o.VolumeGroup = "" }), "--volume-group is required"},
		{"controller with bad vg", controller(func(o *Options) { o.VolumeGroup = "-vg" }), "not a valid LVM name"},
		{"controller with bad thin pool", controller(func(o *Options) { o.ThinPool = "a/b" }), "--thin-pool"},
		{"controller without portal", controller(func(o *Options) { o.Portal = "" }), "--portal is required"},
		{"portal without port", controller(func(o *Options) { o.Portal = "10.0.0.1" }), "not <IP address>:<port>"},
		{"portal with bad port", controller(func(o *Options) { o.Portal = "10.0.0.1:0" }), "not <IP address>:<port>"},
		{"portal with host name", controller(func(o *Options) { o.Portal = "storage.example:3260" }), "host name"},
		{"ipv6 portal", controller(func(o *Options) { o.Portal = "[2001:db8::1]:3260" }), ""},
		{"tcp endpoint", controller(func(o *Options) { o.Endpoint = "tcp://127.0.0.1:10000" }), "not a unix:// endpoint"},
		{"relative socket", controller(func(o *Options) { o.Endpoint = "unix://csi.sock" }), "absolute"},
		{"unclean socket", controller(func(o *Options) { o.Endpoint = "unix:///csi/../csi.sock" }), "clean"},
		{"relative state dir", controller(func(o *Options) { o.StateDir = "state" }), "--state-dir"},
		{"bad iqn prefix", controller(func(o *Options) { o.IQNPrefix = "iqn.bad" }), "--iqn-prefix"},
		{"upper-case iqn prefix", controller(func(o *Options) { o.IQNPrefix = "iqn.2026-11.IO.example" }), "--iqn-prefix"},
		{"ratio below one", controller(func(o *Options) { o.OverprovisionRatio = 0.5 }), "--overprovision-ratio"},
		{"quote in lvm filter", controller(func(o *Options) { o.LVMGlobalFilter = `r|x" ] } x { y = [ "|` }), "--lvm-global-filter"},
		{"no lvm filter", controller(func(o *Options) { o.LVMGlobalFilter = "" }), ""},
		{"warn percent above 100", controller(func(o *Options) { o.ThinPoolWarnPercent = 120 }), "--thin-pool-warn-percent"},
		{"full percent below 0", controller(func(o *Options) { o.ThinPoolFullPercent = -1 }), "--thin-pool-full-percent"},
		{"thin pool without zeroing accepted", controller(func(o *Options) { o.ThinPool = "pool0"; o.AllowThinPoolWithoutZeroing = true }), ""},
		{"accepting no zeroing without a thin pool", controller(func(o *Options) { o.AllowThinPoolWithoutZeroing = true }), "--allow-thin-pool-without-zeroing needs --thin-pool"},
		{"kube events on the controller", controller(func(o *Options) { o.KubeEvents = true }), ""},
		{"kube events on a node", node(func(o *Options) { o.KubeEvents = true }), "--kube-events"},
		{"warn percent not below full", controller(func(o *Options) { o.ThinPoolWarnPercent = 95 }), "--thin-pool-warn-percent 95 must be below --thin-pool-full-percent 95"},
		{"warn percent with full off", controller(func(o *Options) { o.ThinPoolWarnPercent = 99; o.ThinPoolFullPercent = 0 }), ""},
		{"no lvm concurrency", controller(func(o *Options) { o.MaxConcurrentLVM = 0 }), "--max-concurrent-lvm"},
		{"reconcile too often", controller(func(o *Options) { o.ReconcileInterval = 0 }), "--reconcile-interval"},
		{"other driver name", controller(func(o *Options) { o.DriverName = "host-b.lvm-iscsi.csi.io" }), ""},
		{"driver name upper-case", controller(func(o *Options) { o.DriverName = "LVM.csi.io" }), "--driver-name"},
		{"driver name too long", controller(func(o *Options) { o.DriverName = strings.Repeat("a", 64) }), "--driver-name"},
		{"health address", controller(func(o *Options) { o.HealthAddress = "127.0.0.1:9898" }), ""},
		{"health address without port", controller(func(o *Options) { o.HealthAddress = "127.0.0.1" }), "--health-address"},
		{"metrics address", node(func(o *Options) { o.MetricsAddress = ":9810" }), ""},
		{"metrics address without port", controller(func(o *Options) { o.MetricsAddress = "0.0.0.0" }), "--metrics-address"},
		{"metrics address is the health address", controller(func(o *Options) { o.MetricsAddress, o.HealthAddress = "127.0.0.1:9898", "127.0.0.1:9898" }),
			"--metrics-address and --health-address must differ"},
		{"registration path", node(func(o *Options) { o.KubeletRegistrationPath = "/var/lib/kubelet/plugins/d/csi.sock" }), ""},
		{"relative registration path", node(func(o *Options) { o.KubeletRegistrationPath = "plugins/d/csi.sock" }), "--kubelet-registration-path"},
		{"relative vg lock dir", controller(func(o *Options) { o.VGLockDir = "run/lock" }), "--vg-lock-dir"},
		{"node does not need a vg lock dir", node(func(o *Options) { o.VGLockDir = "" }), ""},
		{"node without id", node(func(o *Options) { o.NodeID = "" }), "--node-id is required"},
		{"node with bad id", node(func(o *Options) { o.NodeID = "Worker_1" }), "--node-id"},
		{"node with relative initiator file", node(func(o *Options) { o.InitiatorNameFile = "x" }), "--initiator-name-file"},
		{"node operation timeout too short", node(func(o *Options) { o.NodeOperationTimeout = 0 }), "--node-operation-timeout"},
		{"controller does not need a node operation timeout", controller(func(o *Options) { o.NodeOperationTimeout = 0 }), ""},
		{"node with negative max volumes", node(func(o *Options) { o.MaxVolumesPerNode = -1 }), "--max-volumes-per-node"},
		{"node with relative kubelet dir", node(func(o *Options) { o.KubeletDir = "kubelet" }), "--kubelet-dir"},
		{"node with root kubelet dir", node(func(o *Options) { o.KubeletDir = "/" }), "--kubelet-dir"},
		{"node does not need vg", node(func(o *Options) { o.VolumeGroup = "" }), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.opts.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("Validate() = nil, want error containing %q", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("Validate() = %v, want error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestValidateReportsAllProblemsAtOnce(t *testing.T) {
	o := DefaultOptions()
	o.Mode = ModeController
	err := o.Validate()
	if err == nil || !strings.Contains(err.Error(), "--volume-group") || !strings.Contains(err.Error(), "--portal") {
		t.Fatalf("Validate() = %v, want both --volume-group and --portal named", err)
	}
}

func TestAddFlagsParsesTheContract(t *testing.T) {
	o := DefaultOptions()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	o.AddFlags(fs)
	err := fs.Parse([]string{
		"--endpoint=unix:///run/x.sock", "--mode=controller", "--node-id=n1", "--volume-group=vg",
		"--thin-pool=tp", "--portal=10.0.0.1:3260", "--iqn-prefix=iqn.2020-01.org.example", "--state-dir=/tmp/s",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Options{Endpoint: "unix:///run/x.sock", Mode: ModeController, NodeID: "n1", VolumeGroup: "vg",
		ThinPool: "tp", Portal: "10.0.0.1:3260", IQNPrefix: "iqn.2020-01.org.example", StateDir: "/tmp/s"}
	got := Options{Endpoint: o.Endpoint, Mode: o.Mode, NodeID: o.NodeID, VolumeGroup: o.VolumeGroup,
		ThinPool: o.ThinPool, Portal: o.Portal, IQNPrefix: o.IQNPrefix, StateDir: o.StateDir}
	if got != want {
		t.Fatalf("parsed %+v, want %+v", got, want)
	}
	if err := fs.Parse([]string{"--mode=storage"}); err == nil {
		t.Fatal("--mode=storage was accepted")
	}
}

// Accepting a thin pool without zeroing is an explicit choice: off unless
// the flag is given.
func TestAllowThinPoolWithoutZeroingFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{nil, false},
		{[]string{"--allow-thin-pool-without-zeroing"}, true},
		{[]string{"--allow-thin-pool-without-zeroing=false"}, false},
	} {
		o := DefaultOptions()
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		o.AddFlags(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		if o.AllowThinPoolWithoutZeroing != tc.want {
			t.Errorf("%v: AllowThinPoolWithoutZeroing = %v, want %v", tc.args, o.AllowThinPoolWithoutZeroing, tc.want)
		}
	}
}
