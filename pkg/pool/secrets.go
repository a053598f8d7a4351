package pool

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/atomicfile"
)

// SecretStore keeps each volume's CHAP credentials on the storage host
// only: never in LV tags, logs or volume_context (docs/design.md, "CHAP").
type SecretStore interface {
	// Ensure returns the volume's credentials, generating and storing them
	// durably the first time.
	Ensure(id string) (CHAP, error)
	// Delete forgets them; absent is success.
	Delete(id string) error
}

// FileSecrets stores credentials as one 0600 file per volume under dir,
// written atomically so a crash never leaves a half-written secret that
// tgtd and the node would disagree on.
type FileSecrets struct {
	dir string
}

// NewFileSecrets uses dir (created 0700).
func NewFileSecrets(dir string) (*FileSecrets, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, err
	}
	return &FileSecrets{dir: dir}, nil
}

func (s *FileSecrets) path(id string) (string, error) {
	if !ValidVolumeID(id) {
		return "", fmt.Errorf("%w: volume id %q", ErrInvalid, id)
	}
	return filepath.Join(s.dir, id+".json"), nil
}

func (s *FileSecrets) Ensure(id string) (CHAP, error) {
	path, err := s.path(id)
	if err != nil {
		return CHAP{}, err
	}
	var c CHAP
	b, err := os.ReadFile(path)
	if err == nil {
		if err := json.Unmarshal(b, &c); err == nil && c.User != "" && c.Password != "" {
			return c, nil
		}
		// A corrupt file cannot be used: replace it below. Nodes get the
		// new credentials on their next publish.
	} else if !errors.Is(err, fs.ErrNotExist) {
		return CHAP{}, err
	}
	c = CHAP{User: id, Password: randomSecret()}
	b, _ = json.Marshal(c)
	if err := atomicfile.Write(path, b, 0o600); err != nil {
		return CHAP{}, fmt.Errorf("storing CHAP credentials of %s: %w", id, err)
	}
	return c, nil
}

func (s *FileSecrets) Delete(id string) error {
	path, err := s.path(id)
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// secretAlphabet avoids characters that need quoting anywhere the secret
// travels (iscsiadm, tgtadm argv, Kubernetes objects).
const secretAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"

// randomSecret returns 16 characters: within the 12..16 byte range every
// initiator accepts, ~93 bits of entropy.
func randomSecret() string {
	out := make([]byte, 0, 16)
	buf := make([]byte, 32)
	// Reject bytes past the last whole multiple of the alphabet size so
	// every character is equally likely.
	limit := byte(256 - 256%len(secretAlphabet))
	for len(out) < cap(out) {
		rand.Read(buf) // crypto/rand.Read never returns an error on Linux
		for _, c := range buf {
			if c < limit && len(out) < cap(out) {
				out = append(out, secretAlphabet[int(c)%len(secretAlphabet)])
			}
		}
	}
	return string(out)
}
