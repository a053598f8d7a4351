package publish

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"golang.org/x/crypto/nacl/box"
)

// Errors of OpenCredentials.
var (
	// ErrMalformedSealed: the value is not something SealCredentials made.
	ErrMalformedSealed = errors.New("sealed CHAP credentials are malformed")
	// ErrNotForThisKey: this key cannot open it: it was sealed to another
	// key (the node's key changed since the volume was published) or was
	// altered on the way.
	ErrNotForThisKey = errors.New("sealed CHAP credentials do not open with this node's key")
	// ErrOtherVolume: it opened, but was sealed for another volume.
	ErrOtherVolume = errors.New("sealed CHAP credentials belong to another volume")
)

// Credentials are one publication's CHAP credentials.
type Credentials struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

// sealedPayload is what is sealed: the credentials and the volume they are
// for, so that a value copied from another volume's publish_context is
// refused rather than tried against the wrong target.
type sealedPayload struct {
	Version int    `json:"v"`
	Volume  string `json:"volume"`
	Credentials
}

const sealedVersion = 1

var sealedEncoding = base64.RawURLEncoding

// SealCredentials encrypts c for volumeID to the node's public key with
// NaCl's anonymous sealed box (an ephemeral X25519 key, XSalsa20-Poly1305):
// only the holder of the private key opens it, and any change to it is
// detected. The result is unpadded base64url, for publish_context.
func SealCredentials(to *[32]byte, volumeID string, c Credentials) (string, error) {
	plain, err := json.Marshal(sealedPayload{Version: sealedVersion, Volume: volumeID, Credentials: c})
	if err != nil {
		return "", err
	}
	sealed, err := box.SealAnonymous(nil, plain, to, rand.Reader)
	if err != nil {
		return "", fmt.Errorf("sealing CHAP credentials: %w", err)
	}
	return sealedEncoding.EncodeToString(sealed), nil
}

// OpenCredentials decrypts what SealCredentials made for volumeID. Errors
// never contain the credentials.
func (k *NodeKey) OpenCredentials(volumeID, sealed string) (Credentials, error) {
	raw, err := sealedEncoding.DecodeString(sealed)
	if err != nil || len(raw) <= box.AnonymousOverhead {
		return Credentials{}, ErrMalformedSealed
	}
	plain, ok := box.OpenAnonymous(nil, raw, &k.Public, &k.Private)
	if !ok {
		return Credentials{}, ErrNotForThisKey
	}
	var p sealedPayload
	if err := json.Unmarshal(plain, &p); err != nil || p.Version != sealedVersion || p.User == "" || p.Password == "" {
		return Credentials{}, ErrMalformedSealed
	}
	if p.Volume != volumeID {
		return Credentials{}, fmt.Errorf("%w (%s, not %s)", ErrOtherVolume, p.Volume, volumeID)
	}
	return p.Credentials, nil
}
