package pool

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
)

// Volume ids are derived from the CSI name so a retried CreateVolume finds
// the LV it made before (the name itself may be anything, 128 bytes, and
// is kept in a tag). 28 hex digits (112 bits) make collisions a non-issue
// while the id stays within the 32 characters used as the LUN's SCSI serial.
const volumeIDPrefix = "csi-"

var (
	volumeIDPattern   = regexp.MustCompile(`^csi-[0-9a-f]{28}$`)
	snapshotIDPattern = regexp.MustCompile(`^snap-[0-9a-f]{27}$`)
)

// VolumeID returns the volume id (and LV name) for a CSI volume name.
func VolumeID(name string) string { return derivedID(volumeIDPrefix, name) }

// SnapshotID returns the snapshot id (and LV name) for a CSI snapshot name.
// Snapshot and volume names live in different namespaces, so the prefix
// keeps a snapshot and a volume of the same name apart.
func SnapshotID(name string) string { return derivedID("snap-", name) }

// scratchName is the LV name of a clone's temporary source snapshot.
func scratchName(cloneID string) string { return "tmp-" + cloneID }

// derivedID is prefix + hex of SHA-256(name), 32 characters in all.
func derivedID(prefix, name string) string {
	sum := sha256.Sum256([]byte(name))
	return prefix + hex.EncodeToString(sum[:])[:32-len(prefix)]
}

// ValidVolumeID reports whether id has the form VolumeID produces. Anything
// else cannot name one of our volumes and never reaches a command.
func ValidVolumeID(id string) bool { return volumeIDPattern.MatchString(id) }

// ValidSnapshotID reports whether id has the form SnapshotID produces.
func ValidSnapshotID(id string) bool { return snapshotIDPattern.MatchString(id) }
