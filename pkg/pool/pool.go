// Package pool is the storage host behind the controller: LVM logical
// volumes in one volume group, each exported as its own iSCSI target by
// tgtd, fenced per node initiator. It composes pkg/lvm and pkg/tgt and knows
// nothing of CSI, so a remote pool can later stand behind the same API.
//
// State lives in LV tags (see tags.go); tgtd's targets are derived from them
// and rebuilt by Reconcile whenever they drift (tgtd restarted, a crash
// between two steps, a hand edit).
package pool

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/publish"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt"
)

// Sentinel errors; pkg/driver maps them to gRPC codes.
var (
	ErrNotFound           = errors.New("volume not found")
	ErrExists             = errors.New("a volume with that name exists with other properties")
	ErrNoSpace            = errors.New("not enough space")
	ErrInvalid            = errors.New("invalid request")
	ErrOutOfRange         = errors.New("size out of range")
	ErrPublishedElsewhere = errors.New("volume is published to another node")
	ErrUnavailable        = errors.New("storage host not ready")
	ErrHasSnapshots       = errors.New("volume has snapshots")
	ErrInProgress         = errors.New("operation still in progress")
	ErrSnapshotInvalid    = errors.New("snapshot is invalid")
	// ErrInitiatorInUse: the publishing node's initiator name is recorded
	// for another node (fence.go).
	ErrInitiatorInUse = errors.New("initiator name is used by another node")
)

// Provisioning is how a volume's space is allocated.
type Provisioning string

const (
	Thin  Provisioning = "thin"
	Thick Provisioning = "thick"
)

// Node is an initiator a volume can be published to.
type Node struct {
	ID        string // the orchestrator's node id
	Initiator string // its iSCSI initiator IQN
}

// Volume is one volume as the storage host sees it.
type Volume struct {
	ID           string
	Name         string
	Size         uint64
	Provisioning Provisioning
	Nodes        []Node // published to
	Source       string // volume or snapshot id it was made from, if any
}

// CHAP is one direction of CHAP credentials.
type CHAP struct {
	User     string
	Password string
}

// Export is what an initiator needs to log in to a volume.
type Export struct {
	Portal string
	IQN    string
	LUN    int
	CHAP   *CHAP // nil when CHAP is off
}

// Config is the storage host's configuration.
type Config struct {
	VolumeGroup        string
	ThinPool           string // "" when there is none
	Portal             string
	IQNPrefix          string
	CHAP               bool
	OverprovisionRatio float64
	// ThinPoolWarnPercent: past this data or metadata use of the thin
	// pool, the reconciler warns and thin volumes report DEGRADED; 0 is off.
	ThinPoolWarnPercent float64
	// ThinPoolFullPercent: at this data or metadata use of the thin pool
	// new thin allocations are refused (capacity.go); 0: never.
	ThinPoolFullPercent float64
	// AllowThinPoolWithoutZeroing serves thin volumes from a thin pool that
	// does not zero new blocks, where they may read deleted volumes' data
	// (zeroing.go); otherwise such a pool is refused.
	AllowThinPoolWithoutZeroing bool
}

// BlockDevices is what the pool does to LV data itself (pkg/blockdev):
// zeroing, so a thick LV's old data never reaches the next volume carved
// from the same extents, and copying, for thick clones.
type BlockDevices interface {
	Zero(ctx context.Context, device string) error
	ZeroRange(ctx context.Context, device string, offset, length uint64) error
	Copy(ctx context.Context, src, dst string, size uint64, sparse bool) error
}

// Pool is a local storage host.
type Pool struct {
	cfg     Config
	lvm     lvm.Interface
	tgt     tgt.Interface
	secrets SecretStore
	blocks  BlockDevices
	// readiness is what Ready reads through (readiness.go); nil: lvm.
	readiness lvm.Interface
	jobs      *jobs
	// sources keeps what a snapshot or clone is being made from from
	// being deleted meanwhile (sources.go).
	sources *sources

	// tgtMu serialises every change to tgtd: target ids are chosen by the
	// caller (tgtadm has no "next free"), and Reconcile must see a settled
	// state.
	tgtMu sync.Mutex
	// pubs makes checking a publication against the tags (the volume's
	// other nodes, the initiator name's other nodes: initiators.go) and
	// recording it a single step, for the publications that conflict
	// (publocks.go).
	pubs pubLocks
	// keys caches the key CHAP credentials are derived from (chapkey.go).
	keys chapKeys
	// stats are the figures metrics read (stats.go).
	stats stats
	// vg caches the volume group's extent size (vgfacts.go).
	vg vgFacts
	// publishing are the volumes a Publish is under way for, whose tag may
	// already name a node before their target exists (health_targets.go).
	publishing inFlight
	// reads lets concurrent calls share one lvs (lvreads.go).
	reads sharedReads
	// thin holds the thin pool's allowance that volumes being made have
	// taken and the listings may not show yet (thinclaims.go).
	thin thinClaims
}

// New returns a Pool over its dependencies.
func New(cfg Config, l lvm.Interface, t tgt.Interface, secrets SecretStore, blocks BlockDevices) (*Pool, error) {
	if cfg.VolumeGroup == "" || cfg.Portal == "" || cfg.IQNPrefix == "" {
		return nil, fmt.Errorf("%w: volume group, portal and IQN prefix are required", ErrInvalid)
	}
	if cfg.OverprovisionRatio < 1 {
		cfg.OverprovisionRatio = 1
	}
	p := &Pool{cfg: cfg, lvm: l, secrets: secrets, jobs: newJobs(), sources: newSources()}
	// Counted for the metrics (stats.go).
	p.tgt = countingTgt{Interface: t, changes: &p.stats.tgtChanges}
	p.blocks = countingBlocks{BlockDevices: blocks, st: &p.stats}
	return p, nil
}

// CHAPEnabled reports whether publications carry CHAP credentials.
func (p *Pool) CHAPEnabled() bool { return p.cfg.CHAP }

// IQN is the target name of a volume: one target per volume, never reused.
func (p *Pool) IQN(id string) string { return publish.IQN(p.cfg.IQNPrefix, id) }

// DefaultProvisioning is thin when a thin pool is configured.
func (p *Pool) DefaultProvisioning() Provisioning {
	if p.cfg.ThinPool != "" {
		return Thin
	}
	return Thick
}

// Ready checks the volume group (and thin pool) exist, and that the thin
// pool zeroes new blocks (or that the administrator accepted it does not).
func (p *Pool) Ready(ctx context.Context) error {
	l := p.readinessLVM()
	vg, err := l.GetVG(ctx, p.cfg.VolumeGroup)
	if err != nil {
		return fmt.Errorf("volume group %q: %w", p.cfg.VolumeGroup, err)
	}
	p.noteVG(vg)
	if p.cfg.ThinPool != "" {
		lv, err := l.GetLV(ctx, p.cfg.VolumeGroup, p.cfg.ThinPool)
		if err != nil {
			return fmt.Errorf("thin pool %s/%s: %w", p.cfg.VolumeGroup, p.cfg.ThinPool, err)
		}
		if !lv.IsThinPool() {
			return fmt.Errorf("%s/%s is not a thin pool", p.cfg.VolumeGroup, p.cfg.ThinPool)
		}
		if err := p.thinZeroingRefusal(lv); err != nil {
			return err
		}
	}
	return nil
}

// volumeFromLV turns one of our LVs into a Volume; ok is false for LVs
// that are not ours (never touched) or are being deleted.
func volumeFromLV(lv *lvm.LV) (Volume, tagInfo, bool) {
	info := parseTags(lv.Tags)
	if !info.ours || !ValidVolumeID(lv.Name) || info.kind != "" {
		return Volume{}, info, false
	}
	v := Volume{ID: lv.Name, Name: info.name, Size: lv.Size, Provisioning: info.prov, Nodes: info.nodes, Source: info.src}
	return v, info, !info.deleting && !info.creating
}

// getVolume reads one volume of ours.
func (p *Pool) getVolume(ctx context.Context, id string) (*lvm.LV, Volume, error) {
	if !ValidVolumeID(id) {
		return nil, Volume{}, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	lv, err := p.lvm.GetLV(ctx, p.cfg.VolumeGroup, id)
	if errors.Is(err, lvm.ErrNotFound) {
		return nil, Volume{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, Volume{}, err
	}
	v, _, ok := volumeFromLV(lv)
	if !ok {
		return nil, Volume{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return lv, v, nil
}

// Get returns one volume.
func (p *Pool) Get(ctx context.Context, id string) (Volume, error) {
	_, v, err := p.getVolume(ctx, id)
	return v, err
}
