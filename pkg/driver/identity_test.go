package driver

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
)

func TestProbeReadyOnlyWhenAllPrerequisitesHold(t *testing.T) {
	ok := Prerequisite{Name: "vg", Check: func(context.Context) error { return nil }}
	missing := Prerequisite{Name: "tgtd", Check: func(context.Context) error { return errors.New("no socket") }}
	for _, tc := range []struct {
		name  string
		pre   []Prerequisite
		ready bool
	}{
		{"none", nil, true},
		{"all hold", []Prerequisite{ok, ok}, true},
		{"one missing", []Prerequisite{ok, missing}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &IdentityServer{prerequisites: tc.pre}
			resp, err := s.Probe(context.Background(), &csi.ProbeRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if resp.GetReady().GetValue() != tc.ready {
				t.Fatalf("ready = %v, want %v", resp.GetReady().GetValue(), tc.ready)
			}
		})
	}
}

func TestPluginInfoAndCapabilitiesAreTheSameInEveryMode(t *testing.T) {
	for _, mode := range []Mode{ModeNode, ModeController, ModeAll} {
		s := &IdentityServer{name: DefaultDriverName, version: "v1.2.3", mode: mode}
		info, _ := s.GetPluginInfo(context.Background(), &csi.GetPluginInfoRequest{})
		if info.Name != DefaultDriverName || info.VendorVersion != "v1.2.3" {
			t.Fatalf("%s: plugin info = %v", mode, info)
		}
		caps, _ := s.GetPluginCapabilities(context.Background(), &csi.GetPluginCapabilitiesRequest{})
		if len(caps.Capabilities) != 2 ||
			caps.Capabilities[0].GetService().GetType() != csi.PluginCapability_Service_CONTROLLER_SERVICE ||
			caps.Capabilities[1].GetVolumeExpansion().GetType() != csi.PluginCapability_VolumeExpansion_ONLINE {
			t.Fatalf("%s mode advertises %v, want the controller service and online expansion", mode, caps.Capabilities)
		}
	}
}

func TestSocketPrerequisite(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "tgtd.sock")
	if err := SocketPrerequisite("tgtd", sock).Check(context.Background()); err == nil {
		t.Fatal("absent socket reported as present")
	}
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o600)
	if err := SocketPrerequisite("tgtd", file).Check(context.Background()); err == nil {
		t.Fatal("regular file reported as a socket")
	}
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := SocketPrerequisite("tgtd", sock).Check(context.Background()); err != nil {
		t.Fatalf("listening socket reported missing: %v", err)
	}
}
