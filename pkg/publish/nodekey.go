package publish

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/curve25519"
)

// NodeKey is a node plugin's X25519 key pair. The public half is part of
// the node's id (NodeGetInfo), so the controller learns it through the CO
// with no channel of its own; the controller seals each publication's CHAP
// credentials to it (SealCredentials), and only the node, which keeps the
// private half in its --state-dir, can open them. What the CO stores
// (VolumeAttachment.status.attachmentMetadata) is then useless to anyone
// else who can read it.
type NodeKey struct {
	Public  [32]byte
	Private [32]byte
}

// KeyLength is the length of an encoded public key in a node id.
const KeyLength = 43

var keyEncoding = base64.RawURLEncoding

// GenerateNodeKey makes a new key pair from crypto/rand.
func GenerateNodeKey() (*NodeKey, error) {
	var k NodeKey
	if _, err := rand.Read(k.Private[:]); err != nil {
		return nil, err
	}
	return NodeKeyFromPrivate(k.Private[:])
}

// NodeKeyFromPrivate rebuilds the pair from its private half.
func NodeKeyFromPrivate(private []byte) (*NodeKey, error) {
	if len(private) != 32 {
		return nil, fmt.Errorf("an X25519 private key is 32 bytes, not %d", len(private))
	}
	pub, err := curve25519.X25519(private, curve25519.Basepoint)
	if err != nil {
		return nil, err
	}
	var k NodeKey
	copy(k.Private[:], private)
	copy(k.Public[:], pub)
	return &k, nil
}

// EncodePublicKey is the public key as it appears in a node id: 43
// characters of unpadded base64url, which needs no escaping anywhere a
// node id goes (CSINode, LV tags after their own encoding, logs).
func EncodePublicKey(pub *[32]byte) string { return keyEncoding.EncodeToString(pub[:]) }

// DecodePublicKey reverses EncodePublicKey; false for anything else.
func DecodePublicKey(s string) (*[32]byte, bool) {
	if len(s) != KeyLength {
		return nil, false
	}
	b, err := keyEncoding.DecodeString(s)
	if err != nil || len(b) != 32 || keyEncoding.EncodeToString(b) != s {
		return nil, false
	}
	var pub [32]byte
	copy(pub[:], b)
	return &pub, true
}

// NodeName is the node name a node id starts with (ids are
// "<node name>/<initiator IQN>[/<public key>]", node names hold no '/').
// It names the node across a new key or initiator name (a node whose
// state directory was wiped, or that was reinstalled), so the controller
// can tell "this node again" from "another node".
func NodeName(nodeID string) string {
	name, _, _ := strings.Cut(nodeID, "/")
	return name
}
