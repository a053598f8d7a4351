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
const (
	volumeIDPrefix = "csi-"
	idHexDigits    = 28
)

var volumeIDPattern = regexp.MustCompile(`^csi-[0-9a-f]{28}$`)

// VolumeID returns the volume id (and LV name) for a CSI volume name.
func VolumeID(name string) string {
	sum := sha256.Sum256([]byte(name))
	return volumeIDPrefix + hex.EncodeToString(sum[:])[:idHexDigits]
}

// ValidVolumeID reports whether id has the form VolumeID produces. Anything
// else cannot name one of our volumes and never reaches a command.
func ValidVolumeID(id string) bool { return volumeIDPattern.MatchString(id) }
