// Package publish is the contract between the controller and the node
// plugin: how a volume's iSCSI target is named, which LUN carries its disk,
// and the publish_context keys ControllerPublishVolume hands to
// NodeStageVolume. Both sides import it, so the two can never disagree (the
// node's clean-up of sessions whose stage record is lost finds them by the
// IQN this package builds).
package publish

import "strings"

// LUN is the one logical unit of every volume's target (tgt keeps LUN 0
// for its own controller device).
const LUN = 1

// Keys of publish_context: what a node needs to log in, nothing more.
const (
	KeyPortal       = "portal"
	KeyIQN          = "iqn"
	KeyLUN          = "lun"
	KeyCHAPUser     = "chapUser"
	KeyCHAPPassword = "chapPassword"
)

// SecretKeys are the publish_context keys whose values are secret. The
// CSI spec marks only `secrets` fields as sensitive, so the logging
// interceptor masks these itself.
var SecretKeys = []string{KeyCHAPPassword}

// IQN is the target name of a volume: one target per volume, the IQN
// prefix (--iqn-prefix) and the volume id after a colon. Never reused.
func IQN(prefix, volumeID string) string { return prefix + ":" + volumeID }

// VolumeIDOf returns the volume id an IQN made by IQN ends with (volume ids
// contain no colon, the prefix may), and false when iqn has no colon.
func VolumeIDOf(iqn string) (string, bool) {
	i := strings.LastIndexByte(iqn, ':')
	if i < 0 || i == len(iqn)-1 {
		return "", false
	}
	return iqn[i+1:], true
}

// IsTargetOf reports whether iqn is the target of volume id under any
// prefix: what a node can check without knowing the controller's prefix.
func IsTargetOf(iqn, volumeID string) bool {
	id, ok := VolumeIDOf(iqn)
	return ok && id == volumeID
}
