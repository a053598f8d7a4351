package driver

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/iscsi"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/pool"
)

// Everything that arrives over gRPC is checked here before it reaches the
// pool, a command or the filesystem.

const (
	maxNameBytes = 128
	// maxNodeIDBytes is Kubernetes' limit on CSINode's nodeID.
	maxNodeIDBytes = 192
	// kubernetesParamPrefix marks keys csi-provisioner adds itself
	// (--extra-create-metadata); they are accepted and ignored.
	kubernetesParamPrefix = "csi.storage.k8s.io/"
)

var (
	// mountFlagPattern keeps mount options to plain option tokens.
	mountFlagPattern = regexp.MustCompile(`^[A-Za-z0-9_.=:,/+-]+$`)
)

func invalid(format string, args ...any) error {
	return status.Errorf(codes.InvalidArgument, format, args...)
}

func validateName(name string) error {
	switch {
	case name == "":
		return invalid("name is required")
	case len(name) > maxNameBytes:
		return invalid("name is %d bytes, more than %d", len(name), maxNameBytes)
	case !utf8.ValidString(name):
		return invalid("name is not valid UTF-8")
	}
	return nil
}

// required checks that each named field (name, value pairs) is present.
// Presence is checked before anything else, so a request missing a field is
// InvalidArgument even when another field names nothing that exists.
func required(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			return invalid("%s is required", pairs[i])
		}
	}
	return nil
}

// checkVolumeID rejects an empty id (InvalidArgument); an id of the wrong
// form cannot name a volume of ours (NotFound).
func checkVolumeID(id string) error {
	if id == "" {
		return invalid("volume_id is required")
	}
	if !pool.ValidVolumeID(id) {
		return status.Errorf(codes.NotFound, "volume %q does not exist (not a volume id of this driver)", id)
	}
	return nil
}

// NodeID joins a node name and its initiator IQN into the id NodeGetInfo
// reports; the controller splits it again to fence the target by IQN.
func NodeID(name, iqn string) string { return name + "/" + iqn }

// parseNodeID splits a node id; a malformed one cannot be a node of ours.
func parseNodeID(id string) (pool.Node, error) {
	if id == "" {
		return pool.Node{}, invalid("node_id is required")
	}
	name, iqn, ok := strings.Cut(id, "/")
	if !ok || len(id) > maxNodeIDBytes || !nodeNamePattern.MatchString(name) || !iscsi.ValidIQN(iqn) {
		return pool.Node{}, status.Errorf(codes.NotFound, "node %q does not exist (not a node id of this driver: want <node-name>/<initiator-iqn>)", id)
	}
	return pool.Node{ID: id, Initiator: iqn}, nil
}

var supportedFsTypes = map[string]bool{"": true, "ext4": true, "xfs": true}

// singleNodeModes are the access modes one node at a time can use.
var singleNodeModes = map[csi.VolumeCapability_AccessMode_Mode]bool{
	csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER:        true,
	csi.VolumeCapability_AccessMode_SINGLE_NODE_READER_ONLY:   true,
	csi.VolumeCapability_AccessMode_SINGLE_NODE_SINGLE_WRITER: true,
	csi.VolumeCapability_AccessMode_SINGLE_NODE_MULTI_WRITER:  true,
}

var multiNodeModes = map[csi.VolumeCapability_AccessMode_Mode]bool{
	csi.VolumeCapability_AccessMode_MULTI_NODE_READER_ONLY:   true,
	csi.VolumeCapability_AccessMode_MULTI_NODE_SINGLE_WRITER: true,
	csi.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER:  true,
}

// checkCapability says why one capability is unsupported ("" when it is).
// Multi-node access is only offered for raw block: a filesystem mounted by
// two nodes at once would be corrupted.
func checkCapability(c *csi.VolumeCapability) string {
	if c == nil {
		return "a volume capability is nil"
	}
	mode := c.GetAccessMode().GetMode()
	switch {
	case c.GetAccessMode() == nil:
		return "access_mode is required"
	case c.GetBlock() == nil && c.GetMount() == nil:
		return "access_type (block or mount) is required"
	case singleNodeModes[mode]:
	case multiNodeModes[mode] && c.GetBlock() != nil:
	case multiNodeModes[mode]:
		return fmt.Sprintf("access mode %s is only supported for block volumes", mode)
	default:
		return fmt.Sprintf("access mode %s is not supported", mode)
	}
	if m := c.GetMount(); m != nil {
		if !supportedFsTypes[m.GetFsType()] {
			return fmt.Sprintf("fs_type %q is not supported (ext4, xfs)", m.GetFsType())
		}
		for _, f := range m.GetMountFlags() {
			if !mountFlagPattern.MatchString(f) {
				return fmt.Sprintf("mount flag %q is not a plain mount option", f)
			}
		}
	}
	return ""
}

// requireCapability checks the one volume capability a publish or stage
// call must carry.
func requireCapability(c *csi.VolumeCapability) error {
	if c == nil {
		return invalid("volume_capability is required")
	}
	if why := checkCapability(c); why != "" {
		return invalid("%s", why)
	}
	return nil
}

func validateCapabilities(caps []*csi.VolumeCapability) error {
	if len(caps) == 0 {
		return invalid("volume_capabilities are required")
	}
	for _, c := range caps {
		if why := checkCapability(c); why != "" {
			return invalid("%s", why)
		}
	}
	return nil
}

// minFsSize is the smallest device each filesystem can be made on
// (mkfs.xfs refuses anything under 300 MB); a smaller volume would be
// created fine and then fail at every stage, stuck like the seed's FAQ 3.7.
var minFsSize = map[string]uint64{"xfs": 300 << 20}

// minimumSize is the smallest volume all the capabilities can use.
func minimumSize(caps []*csi.VolumeCapability) uint64 {
	var floor uint64
	for _, c := range caps {
		floor = max(floor, minFsSize[c.GetMount().GetFsType()])
	}
	return floor
}

func isMultiNode(c *csi.VolumeCapability) bool { return multiNodeModes[c.GetAccessMode().GetMode()] }
