//go:build e2e

package e2e

import (
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestGetPluginInfo(t *testing.T) {
	for _, p := range bothPlugins(t) {
		t.Run(p.name, func(t *testing.T) {
			info, err := csi.NewIdentityClient(p.conn).GetPluginInfo(callContext(t), &csi.GetPluginInfoRequest{})
			if err != nil {
				t.Fatalf("GetPluginInfo: %v", err)
			}
			if info.GetName() != driverName {
				t.Errorf("name = %q, want %q", info.GetName(), driverName)
			}
			if info.GetVendorVersion() == "" {
				t.Error("vendor_version is empty; the build should stamp a version")
			}
		})
	}
}

// The harness gives both processes every prerequisite (volume group, tgtd,
// iscsid, initiator name), so anything but ready=true is a real failure,
// once the controller's first volume group check has finished: Probe waits
// for a check under way only 1 s (pkg/driver/prerequisite_cache.go), and
// right after start-up (a focused run has no csi-sanity before it) the
// first vgs+lvs under emulation can take longer, which is "not ready yet".
func TestProbeReady(t *testing.T) {
	for _, p := range bothPlugins(t) {
		t.Run(p.name, func(t *testing.T) {
			for deadline := time.Now().Add(time.Minute); ; time.Sleep(500 * time.Millisecond) {
				resp, err := csi.NewIdentityClient(p.conn).Probe(callContext(t), &csi.ProbeRequest{})
				if err != nil {
					t.Fatalf("Probe: %v", err)
				}
				if resp.GetReady() == nil {
					t.Fatalf("ready is unset, want true")
				}
				if resp.GetReady().GetValue() {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("ready = false for a minute, want true (the %s's log says which prerequisite is missing)", p.name)
				}
			}
		})
	}
}

// Kubernetes' external-provisioner and attacher look for CONTROLLER_SERVICE to
// decide whether a plugin serves the controller RPCs: only the controller
// process may advertise it.
// Plugin capabilities describe the driver as a whole, so both processes
// advertise CONTROLLER_SERVICE (a CO asking the node process must learn that
// volumes go through ControllerPublish); only the controller process serves it.
func TestControllerServiceCapability(t *testing.T) {
	for _, p := range bothPlugins(t) {
		t.Run(p.name, func(t *testing.T) {
			resp, err := csi.NewIdentityClient(p.conn).GetPluginCapabilities(callContext(t), &csi.GetPluginCapabilitiesRequest{})
			if err != nil {
				t.Fatalf("GetPluginCapabilities: %v", err)
			}
			got := false
			for _, c := range resp.GetCapabilities() {
				if c.GetService().GetType() == csi.PluginCapability_Service_CONTROLLER_SERVICE {
					got = true
				}
			}
			if !got {
				t.Errorf("does not advertise CONTROLLER_SERVICE (capabilities: %v)", resp.GetCapabilities())
			}
			_, err = csi.NewControllerClient(p.conn).ControllerGetCapabilities(callContext(t), &csi.ControllerGetCapabilitiesRequest{})
			if serves := status.Code(err) != codes.Unimplemented; serves != (p.name == "controller") {
				t.Errorf("serves the controller service = %v (err %v), want %v", serves, err, p.name == "controller")
			}
		})
	}
}
