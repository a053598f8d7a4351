package pool

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"

	"k8s.io/klog/v2"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
)

// Every CHAP credential is derived from one random key (chapcreds.go). The
// key is kept in the volume group itself, in the first sector of a small
// LV of the driver's (lic.v1, lic.kind=key): it lives exactly as long as
// the volumes it protects, so the loss of the controller's --state-dir,
// a reinstalled storage host or a controller moved to a new pod changes no
// credential, and what attached nodes hold keeps working. Only root on the
// storage host can read it, as it can read the volumes themselves. It is
// never in a tag (LVM copies metadata into /etc/lvm/archive and onto
// every PV) nor in a log.
const (
	keyLVName = "lic-chap-key"
	kindKey   = "key"
	// keyMagic starts the key block, so that an LV of another content is
	// never mistaken for a key.
	keyMagic = "lvm-iscsi-csi CHAP key v1\n"
	keyBytes = 32
)

// chapKeys caches the key; stale makes the next use read the LV again.
type chapKeys struct {
	mu    sync.Mutex
	key   []byte
	stale bool
}

// chapKey returns the CHAP key, creating its LV the first time a volume is
// published. An LV that exists but holds no valid key is an error, not a
// reason to make a new key: that would change every credential at once.
func (p *Pool) chapKey(ctx context.Context) ([]byte, error) {
	p.keys.mu.Lock()
	defer p.keys.mu.Unlock()
	if p.keys.key != nil && !p.keys.stale {
		return p.keys.key, nil
	}
	key, err := p.loadKey(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: the CHAP key (LV %s/%s): %w", ErrUnavailable, p.cfg.VolumeGroup, keyLVName, err)
	}
	p.keys.key, p.keys.stale = key, false
	return key, nil
}

// noticeCHAPKey reloads the cached key from keyLV as a reconcile pass's
// listing shows it (nil: not there): each pass notices a key an
// administrator marked for replacement or removed, without an lvs of its
// own (one lvs of a large VG costs as much as the listing). A key not
// loaded yet waits for its first use; a key LV gone or unreadable makes
// that use read it afresh and report what is wrong.
func (p *Pool) noticeCHAPKey(ctx context.Context, keyLV *lvm.LV) {
	p.keys.mu.Lock()
	defer p.keys.mu.Unlock()
	if p.keys.key == nil {
		return
	}
	if keyLV == nil {
		p.keys.stale = true
		return
	}
	key, err := p.keyOf(ctx, keyLV)
	if err != nil {
		p.keys.stale = true
		return
	}
	p.keys.key, p.keys.stale = key, false
}

func (p *Pool) loadKey(ctx context.Context) ([]byte, error) {
	lv, err := p.lvm.GetLV(ctx, p.cfg.VolumeGroup, keyLVName)
	if errors.Is(err, lvm.ErrNotFound) {
		lv, err = p.createKeyLV(ctx)
	}
	if err != nil {
		return nil, err
	}
	return p.keyOf(ctx, lv)
}

// keyOf reads the key of the key LV lv, writing a new one when lv is
// marked creating.
func (p *Pool) keyOf(ctx context.Context, lv *lvm.LV) ([]byte, error) {
	info := parseTags(lv.Tags)
	if !info.ours || info.kind != kindKey {
		return nil, fmt.Errorf("an LV named %s exists that is not this driver's key LV (tags %v); rename it", keyLVName, lv.Tags)
	}
	if !lv.Active {
		if err := p.lvm.Activate(ctx, p.cfg.VolumeGroup, lv.Name); err != nil {
			return nil, fmt.Errorf("activating: %w", err)
		}
	}
	dev := devicePath(p.cfg.VolumeGroup, lv)
	if info.creating {
		// A key LV still marked creating has never been used: its
		// creation was cut short, or an administrator asked for a new
		// key (docs/security.md, "Rotating credentials").
		return p.writeNewKey(ctx, dev)
	}
	block, err := p.secrets.ReadKey(dev)
	if err != nil {
		return nil, err
	}
	key, ok := parseKeyBlock(block)
	if !ok {
		return nil, fmt.Errorf("%s holds no valid key; to replace it (every attached volume must then be detached and attached again): lvchange --addtag %s%s %s/%s",
			dev, tagState, stateCreate, p.cfg.VolumeGroup, keyLVName)
	}
	return key, nil
}

// createKeyLV makes the key LV, marked creating until the key is written.
// One extent of the VG, or, when the thin pool took every extent, a thin
// LV of that size.
func (p *Pool) createKeyLV(ctx context.Context) (*lvm.LV, error) {
	vg, err := p.lvm.GetVG(ctx, p.cfg.VolumeGroup)
	if err != nil {
		return nil, err
	}
	opts := lvm.CreateOptions{Name: keyLVName, Size: max(vg.ExtentSize, KeyBlockSize),
		Tags: []string{tagOwner, tagKind + kindKey, tagState + stateCreate}}
	lv, err := p.lvm.CreateLV(ctx, p.cfg.VolumeGroup, opts)
	if errors.Is(err, lvm.ErrNoSpace) && p.cfg.ThinPool != "" {
		opts.ThinPool = p.cfg.ThinPool
		lv, err = p.lvm.CreateLV(ctx, p.cfg.VolumeGroup, opts)
	}
	if errors.Is(err, lvm.ErrExists) {
		return p.lvm.GetLV(ctx, p.cfg.VolumeGroup, keyLVName)
	}
	if err != nil {
		return nil, fmt.Errorf("creating: %w", err)
	}
	klog.InfoS("Created the LV that holds the CHAP key", "lv", p.cfg.VolumeGroup+"/"+keyLVName)
	return lv, nil
}

// writeNewKey writes a fresh key, durably, and only then clears the
// creating mark: a crash in between leaves a key no one has used yet,
// which the next start replaces.
func (p *Pool) writeNewKey(ctx context.Context, dev string) ([]byte, error) {
	key := make([]byte, keyBytes)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := p.secrets.WriteKey(dev, keyBlock(key)); err != nil {
		return nil, err
	}
	if err := p.lvm.ChangeTags(ctx, p.cfg.VolumeGroup, keyLVName, nil, []string{tagState + stateCreate}); err != nil {
		return nil, fmt.Errorf("marking the new key complete: %w", err)
	}
	klog.InfoS("Wrote a new CHAP key; credentials are derived from it from now on", "lv", p.cfg.VolumeGroup+"/"+keyLVName, "keyID", keyID(key))
	return key, nil
}

// keyBlock is the key's sector: magic, key, SHA-256 of both, zeros.
func keyBlock(key []byte) []byte {
	block := make([]byte, KeyBlockSize)
	n := copy(block, keyMagic)
	n += copy(block[n:], key)
	sum := sha256.Sum256(block[:n])
	copy(block[n:], sum[:])
	return block
}

func parseKeyBlock(block []byte) ([]byte, bool) {
	n := len(keyMagic) + keyBytes
	if len(block) < n+sha256.Size || !bytes.HasPrefix(block, []byte(keyMagic)) {
		return nil, false
	}
	sum := sha256.Sum256(block[:n])
	if !bytes.Equal(sum[:], block[n:n+sha256.Size]) {
		return nil, false
	}
	return bytes.Clone(block[len(keyMagic):n]), true
}
