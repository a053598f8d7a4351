package driver

import (
	"context"
	"errors"
	"fmt"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/protobuf/types/known/wrapperspb"
	"k8s.io/klog/v2"
)

// IdentityServer answers who the plugin is and whether it can serve.
type IdentityServer struct {
	csi.UnimplementedIdentityServer
	name          string
	version       string
	mode          Mode
	prerequisites []Prerequisite
}

func (s *IdentityServer) GetPluginInfo(context.Context, *csi.GetPluginInfoRequest) (*csi.GetPluginInfoResponse, error) {
	return &csi.GetPluginInfoResponse{Name: s.name, VendorVersion: s.version}, nil
}

// GetPluginCapabilities describes the plugin as a whole, so every process
// answers the same whatever its mode: a CO asking the node process (as
// csi-sanity does) must still learn that volumes go through
// ControllerPublish, or it would stage without a publish_context.
func (s *IdentityServer) GetPluginCapabilities(context.Context, *csi.GetPluginCapabilitiesRequest) (*csi.GetPluginCapabilitiesResponse, error) {
	return &csi.GetPluginCapabilitiesResponse{Capabilities: []*csi.PluginCapability{
		{Type: &csi.PluginCapability_Service_{
			Service: &csi.PluginCapability_Service{Type: csi.PluginCapability_Service_CONTROLLER_SERVICE},
		}},
		// Volumes grow while in use: the LV, tgtd's LUN, the node's disk
		// and the filesystem, without unmounting or logging out.
		{Type: &csi.PluginCapability_VolumeExpansion_{
			VolumeExpansion: &csi.PluginCapability_VolumeExpansion{Type: csi.PluginCapability_VolumeExpansion_ONLINE},
		}},
	}}, nil
}

// Probe reports ready only when every prerequisite of this mode holds. A
// missing prerequisite is "not ready" (the sidecars wait and Kubernetes
// shows why in the log), not an RPC error: the plugin itself is healthy.
func (s *IdentityServer) Probe(ctx context.Context, _ *csi.ProbeRequest) (*csi.ProbeResponse, error) {
	return &csi.ProbeResponse{Ready: wrapperspb.Bool(s.ready(ctx) == nil)}, nil
}

// ready checks every prerequisite and says which are missing; Probe and
// the HTTP health endpoint both answer from it.
func (s *IdentityServer) ready(ctx context.Context) error {
	var missing []error
	for _, p := range s.prerequisites {
		if err := p.Check(ctx); err != nil {
			klog.InfoS("Prerequisite missing, reporting not ready", "prerequisite", p.Name, "err", err)
			missing = append(missing, fmt.Errorf("%s: %w", p.Name, err))
		}
	}
	return errors.Join(missing...)
}
