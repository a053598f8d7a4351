package pool

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// SecretStore is where the storage host's secret material lives, outside
// LV tags, logs and volume_context (docs/security.md):
//
//   - the block device of the CHAP key LV (chapkey.go), which every
//     credential is derived from. It lives in the volume group next to the
//     data it guards, so it survives whatever the volumes survive, the
//     loss of the controller's --state-dir included;
//   - credentials that version 0.1 generated at random and kept in
//     <--state-dir>/chap, still honoured for volumes published back then,
//     until they are unpublished everywhere.
type SecretStore interface {
	// ReadKey returns the first KeyBlockSize bytes of the key LV's device.
	ReadKey(device string) ([]byte, error)
	// WriteKey writes block at the start of the key LV's device and
	// flushes it to stable storage.
	WriteKey(device string, block []byte) error
	// Legacy returns the 0.1 credentials stored for a volume, if any.
	Legacy(id string) (CHAP, bool, error)
	// Delete forgets a volume's 0.1 credentials; absent is success.
	Delete(id string) error
}

// KeyDevice reads and writes the CHAP key block on a device.
type KeyDevice interface {
	ReadKey(device string) ([]byte, error)
	WriteKey(device string, block []byte) error
}

// FileSecrets is the SecretStore of a real storage host: the key block on
// the LV's block device, 0.1's credentials as one 0600 file per volume in
// dir.
type FileSecrets struct {
	KeyDevice
	dir string
}

// NewFileSecrets reads 0.1's credentials from dir and the key from real
// block devices.
func NewFileSecrets(dir string) (*FileSecrets, error) {
	return NewFileSecretsOn(dir, BlockKeyDevice{})
}

// NewFileSecretsOn is NewFileSecrets with another KeyDevice (tests use
// MemoryKeyDevice: the LVM fake has no devices).
func NewFileSecretsOn(dir string, dev KeyDevice) (*FileSecrets, error) {
	if dir == "" || dev == nil {
		return nil, fmt.Errorf("%w: a secrets directory and a key device are required", ErrInvalid)
	}
	return &FileSecrets{KeyDevice: dev, dir: dir}, nil
}

func (s *FileSecrets) path(id string) (string, error) {
	if !ValidVolumeID(id) {
		return "", fmt.Errorf("%w: volume id %q", ErrInvalid, id)
	}
	return filepath.Join(s.dir, id+".json"), nil
}

// Legacy reads <dir>/<id>.json as 0.1 wrote it. A missing directory or
// file is "none"; so is a file that does not parse (0.1 replaced those
// too, so no node can hold what they once said).
func (s *FileSecrets) Legacy(id string) (CHAP, bool, error) {
	path, err := s.path(id)
	if err != nil {
		return CHAP{}, false, err
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return CHAP{}, false, nil
	}
	if err != nil {
		return CHAP{}, false, fmt.Errorf("reading the 0.1 CHAP credentials of %s: %w", id, err)
	}
	var c CHAP
	if err := json.Unmarshal(b, &c); err != nil || c.User != id || c.Password == "" {
		return CHAP{}, false, nil
	}
	return c, true, nil
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

// KeyBlockSize is how much of the key LV holds the key: one sector.
const KeyBlockSize = 512

// BlockKeyDevice reads and writes the key block of a real block device.
type BlockKeyDevice struct{}

func (BlockKeyDevice) ReadKey(device string) ([]byte, error) {
	f, err := openBlockDevice(device, os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	block := make([]byte, KeyBlockSize)
	if _, err := f.ReadAt(block, 0); err != nil {
		return nil, fmt.Errorf("reading %s: %w", device, err)
	}
	return block, nil
}

func (BlockKeyDevice) WriteKey(device string, block []byte) error {
	f, err := openBlockDevice(device, os.O_WRONLY)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(block, 0); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", device, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("flushing %s: %w", device, err)
	}
	return f.Close()
}

// openBlockDevice opens an existing block device only: never O_CREATE, so
// a device node that is missing (an LV not yet activated, udev behind)
// cannot turn into a regular file in /dev holding a key that vanishes at
// the next reboot.
func openBlockDevice(device string, flag int) (*os.File, error) {
	f, err := os.OpenFile(device, flag, 0)
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if info.Mode()&os.ModeDevice == 0 || info.Mode()&os.ModeCharDevice != 0 {
		f.Close()
		return nil, fmt.Errorf("%s is not a block device", device)
	}
	return f, nil
}

// MemoryKeyDevice keeps key blocks in memory, by device path: the
// stand-in for LV contents in tests over the LVM fake, never for
// production (a key there dies with the process). A device never written
// reads as zeros, as a fresh thin LV does.
type MemoryKeyDevice struct {
	mu     sync.Mutex
	blocks map[string][]byte
}

// NewMemoryKeyDevice returns an empty one.
func NewMemoryKeyDevice() *MemoryKeyDevice {
	return &MemoryKeyDevice{blocks: map[string][]byte{}}
}

func (m *MemoryKeyDevice) ReadKey(device string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	block := make([]byte, KeyBlockSize)
	copy(block, m.blocks[device])
	return block, nil
}

func (m *MemoryKeyDevice) WriteKey(device string, block []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.blocks[device] = append([]byte(nil), block...)
	return nil
}
