package driver

import (
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/container-storage-interface/spec/lib/go/csi"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/iscsi"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/pool"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/publish"
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
		return fail(errUnknownObject, "volume %q does not exist (not a volume id of this driver)", id)
	}
	return nil
}

// NodeID joins a node name, its initiator IQN and its public key into the
// id NodeGetInfo reports: "<node name>/<initiator IQN>/<key>". The
// controller splits it again to fence the target by IQN and to seal the
// CHAP credentials to the key (docs/security.md); Kubernetes stores it in
// CSINode, so the key reaches the controller with no channel of our own.
func NodeID(name, iqn string, key *[32]byte) string {
	return name + "/" + iqn + "/" + publish.EncodePublicKey(key)
}

// CheckNodeID says whether id is a node id the controller accepts: the
// node plugin checks its own at start (a long node name and IQN can push
// it past Kubernetes' 192 bytes).
func CheckNodeID(id string) error {
	_, _, err := parseNodeID(id)
	return err
}

// parseNodeID splits a node id; a malformed one cannot be a node of ours.
// The key is nil for the "<node name>/<initiator IQN>" ids of version 0.1:
// ControllerPublishVolume refuses those while CHAP is on.
func parseNodeID(id string) (pool.Node, *[32]byte, error) {
	if id == "" {
		return pool.Node{}, nil, invalid("node_id is required")
	}
	name, rest, ok := strings.Cut(id, "/")
	iqn := rest
	var key *[32]byte
	if i := strings.LastIndexByte(rest, '/'); ok && i >= 0 {
		// IQNs hold no '/': what follows the last one is the key.
		iqn = rest[:i]
		key, ok = publish.DecodePublicKey(rest[i+1:])
	}
	if !ok || len(id) > maxNodeIDBytes || !nodeNamePattern.MatchString(name) || !iscsi.ValidIQN(iqn) {
		return pool.Node{}, nil, fail(errUnknownObject,
			"node %q does not exist (not a node id of this driver: want <node-name>/<initiator-iqn>/<public-key>, at most %d bytes)", id, maxNodeIDBytes)
	}
	return pool.Node{ID: id, Initiator: iqn}, key, nil
}

// noSecrets refuses CSI secrets. The driver has no use for them: mutual
// CHAP from a StorageClass's secrets is not supported (docs/security.md),
// and a StorageClass that asks for it must fail loudly rather than seem
// to work. Only the keys are named; values never appear in an error.
func noSecrets(secrets map[string]string) error {
	if len(secrets) == 0 {
		return nil
	}
	keys := slices.Sorted(maps.Keys(secrets))
	return invalid("this driver takes no secrets (keys %v given): mutual CHAP is not supported; "+
		"remove the csi.storage.k8s.io/*-secret-name parameters from the StorageClass", keys)
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

// optionalCapability checks a capability a call may carry (expansion).
func optionalCapability(c *csi.VolumeCapability) error {
	if c == nil {
		return nil
	}
	return requireCapability(c)
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
// created fine and then fail at every stage (docs/design.md, "the failures
// this driver is built against": a volume stuck attaching).
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

// checkPath accepts only absolute, clean paths below the kubelet directory:
// nothing a request says may make the plugin mount or remove elsewhere.
func checkPath(kubeletDir, field, p string) error {
	switch {
	case p == "":
		return invalid("%s is required", field)
	case !filepath.IsAbs(p) || filepath.Clean(p) != p:
		return invalid("%s %q must be an absolute, clean path", field, p)
	case !strings.HasPrefix(p, kubeletDir+"/"):
		return invalid("%s %q is not below the kubelet directory %s", field, p, kubeletDir)
	}
	return nil
}

// checkPaths is checkPath over (field, path) pairs.
func checkPaths(kubeletDir string, pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if err := checkPath(kubeletDir, pairs[i], pairs[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// volumeCall is what a node call on one volume carries.
type volumeCall struct {
	id string
	// paths are (field, path) pairs, all required and all below the
	// kubelet directory.
	paths []string
	// capability is checked when present, and must be present when
	// capabilityRequired.
	capability         *csi.VolumeCapability
	capabilityRequired bool
}

// check validates a node call in the order the spec (and csi-sanity)
// expects: every required field first (InvalidArgument), then what the
// fields say (an id that cannot be ours is NotFound; a path outside the
// kubelet directory InvalidArgument).
func (s *nodeService) check(c volumeCall) error {
	if err := required(append([]string{"volume_id", c.id}, c.paths...)...); err != nil {
		return err
	}
	capCheck := optionalCapability
	if c.capabilityRequired {
		capCheck = requireCapability
	}
	if err := capCheck(c.capability); err != nil {
		return err
	}
	if err := checkVolumeID(c.id); err != nil {
		return err
	}
	return checkPaths(s.cfg.KubeletDir, c.paths...)
}
