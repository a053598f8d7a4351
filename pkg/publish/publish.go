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
// publish_context is stored by the CO where many can read it
// (VolumeAttachment.status.attachmentMetadata), so the CHAP credentials
// travel only sealed to the node's key (KeyCHAP, SealCredentials).
const (
	KeyPortal = "portal"
	KeyIQN    = "iqn"
	KeyLUN    = "lun"
	// KeyCHAP holds the publication's CHAP credentials sealed to the
	// node's public key (SealCredentials).
	KeyCHAP = "chap"
	// KeyCHAPUser and KeyCHAPPassword held the credentials in clear up to
	// version 0.1. No controller writes them any more; nodes still read
	// them from VolumeAttachments made by 0.1, so that an upgrade does
	// not cut attached volumes off (docs/upgrade.md).
	KeyCHAPUser     = "chapUser"
	KeyCHAPPassword = "chapPassword"
)

// SecretKeys are the publish_context keys whose values are secret or
// sealed. The CSI spec marks only `secrets` fields as sensitive, so the
// logging interceptor masks these itself (sealed values too: a log must
// not keep what a later leak of a node's key would open).
var SecretKeys = []string{KeyCHAP, KeyCHAPPassword}

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
