package driver

import (
	"context"
	"errors"
	"strconv"

	"github.com/container-storage-interface/spec/lib/go/csi"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/pool"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/publish"
)

func (s *controllerService) ControllerPublishVolume(ctx context.Context, req *csi.ControllerPublishVolumeRequest) (*csi.ControllerPublishVolumeResponse, error) {
	id := req.GetVolumeId()
	if err := required("volume_id", id, "node_id", req.GetNodeId()); err != nil {
		return nil, err
	}
	if err := requireCapability(req.GetVolumeCapability()); err != nil {
		return nil, err
	}
	if err := checkVolumeID(id); err != nil {
		return nil, err
	}
	node, key, err := parseNodeID(req.GetNodeId())
	if err != nil {
		return nil, err
	}
	if err := noSecrets(req.GetSecrets()); err != nil {
		return nil, err
	}
	if key == nil && s.storage.CHAPEnabled() {
		// Checked before anything is recorded or exported: credentials
		// that could only travel in clear are never made.
		return nil, fail(errNodeWithoutKey, "node %q has no public key in its id, so its CHAP credentials cannot be sealed to it: "+
			"its node plugin is older than this controller; upgrade it (the node then registers an id with a key)", req.GetNodeId())
	}
	exp, err := s.storage.Publish(ctx, id, node, isMultiNode(req.GetVolumeCapability()))
	if err != nil {
		return nil, err
	}
	pc, err := publishContext(id, exp, key)
	if err != nil {
		return nil, err
	}
	return &csi.ControllerPublishVolumeResponse{PublishContext: pc}, nil
}

// publishContext is what the node reads back with targetFrom. The CO
// keeps it in VolumeAttachment.status, readable by many, so the CHAP
// credentials are in it only sealed to the node's key.
func publishContext(id string, exp pool.Export, key *[32]byte) (map[string]string, error) {
	pc := map[string]string{
		publish.KeyPortal: exp.Portal,
		publish.KeyIQN:    exp.IQN,
		publish.KeyLUN:    strconv.Itoa(exp.LUN),
	}
	if exp.CHAP != nil {
		if key == nil {
			return nil, fail(errNodeWithoutKey, "no key to seal the CHAP credentials of %s to", id)
		}
		sealed, err := publish.SealCredentials(key, id, publish.Credentials{User: exp.CHAP.User, Password: exp.CHAP.Password})
		if err != nil {
			return nil, err
		}
		pc[publish.KeyCHAP] = sealed
	}
	return pc, nil
}

func (s *controllerService) ControllerUnpublishVolume(ctx context.Context, req *csi.ControllerUnpublishVolumeRequest) (*csi.ControllerUnpublishVolumeResponse, error) {
	id := req.GetVolumeId()
	if id == "" {
		return nil, invalid("volume_id is required")
	}
	if !pool.ValidVolumeID(id) {
		return &csi.ControllerUnpublishVolumeResponse{}, nil
	}
	nodeIDs := []string{req.GetNodeId()}
	if req.GetNodeId() == "" {
		// The spec's "unpublish from every node".
		v, err := s.storage.Get(ctx, id)
		if err != nil {
			return unpublishDone(err)
		}
		nodeIDs = nodeIDs[:0]
		for _, n := range v.Nodes {
			nodeIDs = append(nodeIDs, n.ID)
		}
	}
	for _, n := range nodeIDs {
		if err := s.storage.Unpublish(ctx, id, n); err != nil {
			return unpublishDone(err)
		}
	}
	return &csi.ControllerUnpublishVolumeResponse{}, nil
}

// unpublishDone: a volume that no longer exists is unpublished everywhere.
func unpublishDone(err error) (*csi.ControllerUnpublishVolumeResponse, error) {
	if errors.Is(err, pool.ErrNotFound) {
		return &csi.ControllerUnpublishVolumeResponse{}, nil
	}
	return nil, err
}
