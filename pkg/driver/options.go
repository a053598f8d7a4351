package driver

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/iscsi"
)

// Mode selects which CSI services the process serves.
type Mode string

const (
	ModeController Mode = "controller"
	ModeNode       Mode = "node"
	ModeAll        Mode = "all"
)

func (m Mode) hasController() bool { return m == ModeController || m == ModeAll }
func (m Mode) hasNode() bool       { return m == ModeNode || m == ModeAll }

// Defaults of the command-line contract (README, docs/design.md).
const (
	DefaultEndpoint          = "unix:///csi/csi.sock"
	DefaultDriverName        = "lvm-iscsi.csi.io"
	DefaultIQNPrefix         = "iqn.2026-11.io.csi.lvm-iscsi"
	DefaultStateDir          = "/var/lib/lvm-iscsi-csi"
	DefaultInitiatorNameFile = "/etc/iscsi/initiatorname.iscsi"
	DefaultISCSILockFile     = "/run/lock/iscsi/lvm-iscsi-csi.lock"
	DefaultKubeletDir        = "/var/lib/kubelet"
	// DefaultLVMGlobalFilter keeps lvm from scanning iSCSI-attached disks
	// (see pkg/lvm.WithGlobalFilter for why).
	DefaultLVMGlobalFilter = "r|^/dev/disk/by-path/.*-iscsi-.*|"
)

// DefaultVGLockDir is LVM's own lock directory (lvm.conf
// global/locking_dir): whoever runs lvm commands on the storage host
// shares it, and the chart mounts it from the host.
const DefaultVGLockDir = "/run/lock/lvm"

// Options is everything the binary is told on its command line. The first
// block is the fixed contract; the rest are tunables with safe defaults.
type Options struct {
	// Endpoint is the CSI socket, unix:///path/csi.sock.
	Endpoint string
	// Mode is controller, node or all.
	Mode Mode
	// NodeID is this node's name; the node id reported to Kubernetes is
	// NodeID plus the initiator IQN. Defaults to the hostname.
	NodeID string
	// VolumeGroup is the LVM volume group volumes are carved from (controller).
	VolumeGroup string
	// ThinPool is a thin pool LV in VolumeGroup. Empty means thick volumes
	// unless a StorageClass asks for thin (controller).
	ThinPool string
	// Portal is the host:port nodes log in to (controller).
	Portal string
	// IQNPrefix prefixes every target IQN; the volume id follows it.
	IQNPrefix string
	// StateDir holds durable private state (CHAP secrets on the controller,
	// staging records on nodes), mode 0700.
	StateDir string
	// DriverName is the CSI driver name Kubernetes objects refer to
	// (CSIDriver, StorageClass provisioner); one per storage host while
	// each host has its own release.
	DriverName string

	// KubeletRegistrationPath is the CSI socket as kubelet sees it (a host
	// path). When set, the node plugin registers itself with kubelet
	// through <kubelet-dir>/plugins_registry, as node-driver-registrar does.
	KubeletRegistrationPath string
	// HealthAddress is host:port of an HTTP /healthz endpoint answering
	// what Probe answers, for a liveness probe; empty turns it off.
	HealthAddress string
	// MetricsAddress is host:port of an HTTP /metrics endpoint for
	// Prometheus (docs/metrics.md); empty turns it off.
	MetricsAddress string

	// TgtControlPort selects the tgtd instance (tgtadm -C) on the storage host.
	TgtControlPort int
	// InitiatorNameFile is the open-iscsi file holding this node's IQN.
	InitiatorNameFile string
	// ISCSILockFile serialises iscsiadm calls host-wide (its node database
	// is not safe under concurrent writers).
	ISCSILockFile string
	// VGLockDir holds the per-volume-group lock every controller of this
	// host takes, so two never serve one volume group (controller).
	VGLockDir string
	// KubeletDir is the kubelet's root: staging and target paths outside it
	// are refused (node).
	KubeletDir string
	// MaxVolumesPerNode is reported by NodeGetInfo; 0 means no limit.
	MaxVolumesPerNode int64
	// NodeOperationTimeout bounds each mkfs, fsck, blkid, mount, umount
	// and resize command of the node: past it the command is killed and
	// its call fails (node).
	NodeOperationTimeout time.Duration
	// ReconcileInterval is how often tgtd is checked against the LV tags.
	ReconcileInterval time.Duration
	// OverprovisionRatio caps thin allocations at ratio × thin pool size.
	OverprovisionRatio float64
	// ThinPoolWarnPercent: past this data or metadata use of the thin pool
	// the controller warns and thin volumes report DEGRADED; 0 turns it off.
	ThinPoolWarnPercent float64
	// ThinPoolFullPercent: at this data or metadata use of the thin pool
	// new thin volumes, snapshots and clones are refused
	// (ResourceExhausted), keeping the last blocks for the volumes' own
	// writes; 0 turns it off.
	ThinPoolFullPercent float64
	// KubeEvents turns on Kubernetes Events from the controller (pkg/events):
	// the thin pool crossing --thin-pool-warn-percent or
	// --thin-pool-full-percent, volumes turning abnormal and normal again.
	// It needs the in-cluster configuration of a pod (controller).
	KubeEvents bool
	// AllowThinPoolWithoutZeroing serves thin volumes from a thin pool that
	// does not zero new blocks (where they may read deleted volumes' data);
	// without it such a pool keeps the controller not ready.
	AllowThinPoolWithoutZeroing bool
	// MaxConcurrentLVM bounds concurrent lvm commands.
	MaxConcurrentLVM int
	// LVMGlobalFilter is the devices/global_filter pattern every lvm command
	// of the controller uses; empty means lvm.conf's.
	LVMGlobalFilter string
	// CHAP turns per-volume CHAP on; on by default.
	CHAP bool
	// ShowVersion prints the version and exits.
	ShowVersion bool
}

// DefaultOptions returns the options a flag-less start would have.
func DefaultOptions() Options {
	host, _ := os.Hostname()
	return Options{
		Endpoint:            DefaultEndpoint,
		DriverName:          DefaultDriverName,
		NodeID:              host,
		IQNPrefix:           DefaultIQNPrefix,
		StateDir:            DefaultStateDir,
		InitiatorNameFile:   DefaultInitiatorNameFile,
		ISCSILockFile:       DefaultISCSILockFile,
		VGLockDir:           DefaultVGLockDir,
		KubeletDir:          DefaultKubeletDir,
		ReconcileInterval:   30 * time.Second,
		OverprovisionRatio:  1.0,
		ThinPoolWarnPercent: 80,
		ThinPoolFullPercent: 95,
		MaxConcurrentLVM:    4,
		LVMGlobalFilter:     DefaultLVMGlobalFilter,
		CHAP:                true,

		// Long enough for fsck of a large filesystem; a tool stuck on a
		// dead disk fails by itself within the iSCSI replacement timeout
		// (2 min) anyway, so this catches what hangs for other reasons.
		NodeOperationTimeout: 10 * time.Minute,
	}
}

// AddFlags registers every option on fs; the current values are the defaults.
func (o *Options) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Endpoint, "endpoint", o.Endpoint, "CSI endpoint, unix:///path/csi.sock")
	fs.Var((*modeFlag)(&o.Mode), "mode", "which services to run: controller, node or all (required)")
	fs.StringVar(&o.NodeID, "node-id", o.NodeID, "this node's id (node mode; default: hostname)")
	fs.StringVar(&o.VolumeGroup, "volume-group", o.VolumeGroup, "LVM volume group volumes are carved from (controller mode; required)")
	fs.StringVar(&o.ThinPool, "thin-pool", o.ThinPool, "thin pool LV in the volume group; empty means thick volumes unless a StorageClass asks for thin")
	fs.StringVar(&o.Portal, "portal", o.Portal, "iSCSI portal host:port nodes log in to (controller mode; required)")
	fs.StringVar(&o.IQNPrefix, "iqn-prefix", o.IQNPrefix, "target IQN prefix; the volume id is appended")
	fs.StringVar(&o.StateDir, "state-dir", o.StateDir, "directory for durable private state (mode 0700)")
	fs.StringVar(&o.DriverName, "driver-name", o.DriverName, "CSI driver name (CSIDriver object, StorageClass provisioner)")
	fs.StringVar(&o.KubeletRegistrationPath, "kubelet-registration-path", o.KubeletRegistrationPath, "the CSI socket as kubelet sees it; when set, register with kubelet through <kubelet-dir>/plugins_registry (node mode)")
	fs.StringVar(&o.HealthAddress, "health-address", o.HealthAddress, "host:port for an HTTP /healthz endpoint that answers like Probe (empty: off)")
	fs.StringVar(&o.MetricsAddress, "metrics-address", o.MetricsAddress, "host:port for an HTTP /metrics endpoint for Prometheus, apart from /healthz (empty: off)")
	fs.IntVar(&o.TgtControlPort, "tgt-control-port", o.TgtControlPort, "tgtd control port (tgtadm -C) on the storage host")
	fs.StringVar(&o.InitiatorNameFile, "initiator-name-file", o.InitiatorNameFile, "open-iscsi initiator name file (node mode)")
	fs.StringVar(&o.ISCSILockFile, "iscsi-lock-file", o.ISCSILockFile, "lock file serialising iscsiadm calls on this host (node mode)")
	fs.StringVar(&o.VGLockDir, "vg-lock-dir", o.VGLockDir, "directory on the storage host, shared by every controller there, for the lock that keeps one controller per volume group (controller mode)")
	fs.StringVar(&o.KubeletDir, "kubelet-dir", o.KubeletDir, "kubelet root directory; staging and target paths must lie below it (node mode)")
	fs.Int64Var(&o.MaxVolumesPerNode, "max-volumes-per-node", o.MaxVolumesPerNode, "volumes one node may attach, reported to Kubernetes; 0 means no limit")
	fs.DurationVar(&o.NodeOperationTimeout, "node-operation-timeout", o.NodeOperationTimeout, "each mkfs, fsck, blkid, mount, umount and resize the node runs is killed after this long and its call fails (node mode)")
	fs.DurationVar(&o.ReconcileInterval, "reconcile-interval", o.ReconcileInterval, "how often the controller makes tgtd match the LV tags")
	fs.Float64Var(&o.OverprovisionRatio, "overprovision-ratio", o.OverprovisionRatio, "thin volumes may add up to this many times the thin pool size (>= 1)")
	fs.Float64Var(&o.ThinPoolFullPercent, "thin-pool-full-percent", o.ThinPoolFullPercent, "refuse new thin volumes, snapshots and clones (ResourceExhausted) at this thin pool data or metadata use (0 turns it off)")
	fs.Float64Var(&o.ThinPoolWarnPercent, "thin-pool-warn-percent", o.ThinPoolWarnPercent, "warn, and report thin volumes DEGRADED, past this thin pool data or metadata use (0 turns it off)")
	fs.BoolVar(&o.KubeEvents, "kube-events", o.KubeEvents, "post Kubernetes Events (in-cluster API access) when the thin pool crosses its warning or full threshold and when a volume turns abnormal or normal again (controller mode)")
	fs.BoolVar(&o.AllowThinPoolWithoutZeroing, "allow-thin-pool-without-zeroing", o.AllowThinPoolWithoutZeroing,
		"serve thin volumes from a thin pool that does not zero new blocks, where they may read deleted volumes' data (otherwise such a pool keeps the controller not ready; the fix is lvchange -Z y VG/POOL)")
	fs.IntVar(&o.MaxConcurrentLVM, "max-concurrent-lvm", o.MaxConcurrentLVM, "lvm commands run at once at most")
	fs.StringVar(&o.LVMGlobalFilter, "lvm-global-filter", o.LVMGlobalFilter, "lvm devices/global_filter pattern for the controller's lvm commands (lvm.conf syntax); empty uses lvm.conf's")
	fs.BoolVar(&o.CHAP, "chap", o.CHAP, "protect every target with per-volume CHAP credentials")
	fs.BoolVar(&o.ShowVersion, "version", o.ShowVersion, "print the version and exit")
}

type modeFlag Mode

func (m *modeFlag) String() string { return string(*m) }
func (m *modeFlag) Set(s string) error {
	switch Mode(s) {
	case ModeController, ModeNode, ModeAll:
		*m = modeFlag(s)
		return nil
	}
	return fmt.Errorf("must be controller, node or all")
}

var (
	// vgNamePattern is LVM's name charset; LVM also forbids a leading '-'.
	vgNamePattern = regexp.MustCompile(`^[A-Za-z0-9+_.][A-Za-z0-9+_.-]*$`)
	// iqnPrefixPattern is a conservative iqn.yyyy-mm.reversed.domain[:x].
	iqnPrefixPattern = regexp.MustCompile(`^iqn\.[0-9]{4}-[0-9]{2}\.[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[a-z0-9.:-]+)?$`)
	// driverNamePattern is what the CSI spec allows for a plugin name.
	driverNamePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$`)
	// nodeNamePattern is a DNS subdomain (what Kubernetes node names are).
	nodeNamePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$`)
)

// Validate reports every missing or contradictory option at once.
func (o *Options) Validate() error {
	var errs []error
	if o.Mode == "" {
		errs = append(errs, errors.New("--mode is required (controller, node or all)"))
	}
	if _, err := SocketPath(o.Endpoint); err != nil {
		errs = append(errs, fmt.Errorf("--endpoint: %w", err))
	}
	if !filepath.IsAbs(o.StateDir) {
		errs = append(errs, fmt.Errorf("--state-dir must be an absolute path, got %q", o.StateDir))
	}
	if !driverNamePattern.MatchString(o.DriverName) || len(o.DriverName) > 63 {
		errs = append(errs, fmt.Errorf("--driver-name %q is not a CSI driver name (lower-case DNS name, at most 63 characters)", o.DriverName))
	}
	if o.HealthAddress != "" {
		if _, _, err := net.SplitHostPort(o.HealthAddress); err != nil {
			errs = append(errs, fmt.Errorf("--health-address %q is not host:port", o.HealthAddress))
		}
	}
	if o.MetricsAddress != "" {
		if _, _, err := net.SplitHostPort(o.MetricsAddress); err != nil {
			errs = append(errs, fmt.Errorf("--metrics-address %q is not host:port", o.MetricsAddress))
		} else if o.MetricsAddress == o.HealthAddress {
			errs = append(errs, fmt.Errorf("--metrics-address and --health-address must differ (%s): they are separate listeners", o.MetricsAddress))
		}
	}
	if !iqnPrefixPattern.MatchString(o.IQNPrefix) || len(o.IQNPrefix) > 180 {
		errs = append(errs, fmt.Errorf("--iqn-prefix %q is not an iqn.yyyy-mm.domain[:name] prefix in lower case", o.IQNPrefix))
	}
	if o.Mode.hasController() {
		errs = append(errs, o.validateController()...)
	}
	if o.Mode.hasNode() {
		errs = append(errs, o.validateNode()...)
	}
	if o.KubeEvents && !o.Mode.hasController() {
		errs = append(errs, errors.New("--kube-events is the controller's (the node plugin posts no events)"))
	}
	return errors.Join(errs...)
}

func (o *Options) validateController() []error {
	var errs []error
	if o.VolumeGroup == "" {
		errs = append(errs, errors.New("--volume-group is required in controller mode"))
	} else if !validLVMName(o.VolumeGroup) {
		errs = append(errs, fmt.Errorf("--volume-group %q is not a valid LVM name", o.VolumeGroup))
	}
	if o.ThinPool != "" && !validLVMName(o.ThinPool) {
		errs = append(errs, fmt.Errorf("--thin-pool %q is not a valid LVM name", o.ThinPool))
	}
	if o.Portal == "" {
		errs = append(errs, errors.New("--portal is required in controller mode (host:port nodes log in to)"))
	} else if err := validatePortal(o.Portal); err != nil {
		errs = append(errs, fmt.Errorf("--portal: %w", err))
	}
	if o.TgtControlPort < 0 || o.TgtControlPort > 65535 {
		errs = append(errs, fmt.Errorf("--tgt-control-port %d is out of range", o.TgtControlPort))
	}
	if !filepath.IsAbs(o.VGLockDir) {
		errs = append(errs, fmt.Errorf("--vg-lock-dir must be an absolute path, got %q", o.VGLockDir))
	}
	if o.ReconcileInterval < time.Second {
		errs = append(errs, fmt.Errorf("--reconcile-interval %v is shorter than 1s", o.ReconcileInterval))
	}
	if o.OverprovisionRatio < 1 {
		errs = append(errs, fmt.Errorf("--overprovision-ratio %v must be at least 1", o.OverprovisionRatio))
	}
	if strings.ContainsAny(o.LVMGlobalFilter, "\"\n") {
		errs = append(errs, fmt.Errorf("--lvm-global-filter %q must not contain quotes or newlines", o.LVMGlobalFilter))
	}
	if o.ThinPoolFullPercent < 0 || o.ThinPoolFullPercent > 100 {
		errs = append(errs, fmt.Errorf("--thin-pool-full-percent %v must be between 0 and 100", o.ThinPoolFullPercent))
	}
	if o.ThinPoolWarnPercent < 0 || o.ThinPoolWarnPercent > 100 {
		errs = append(errs, fmt.Errorf("--thin-pool-warn-percent %v must be between 0 and 100", o.ThinPoolWarnPercent))
	}
	if o.ThinPoolWarnPercent > 0 && o.ThinPoolFullPercent > 0 && o.ThinPoolWarnPercent >= o.ThinPoolFullPercent {
		errs = append(errs, fmt.Errorf("--thin-pool-warn-percent %v must be below --thin-pool-full-percent %v: the warning comes before creations are refused", o.ThinPoolWarnPercent, o.ThinPoolFullPercent))
	}
	if o.MaxConcurrentLVM < 1 {
		errs = append(errs, fmt.Errorf("--max-concurrent-lvm %d must be at least 1", o.MaxConcurrentLVM))
	}
	if o.AllowThinPoolWithoutZeroing && o.ThinPool == "" {
		errs = append(errs, errors.New("--allow-thin-pool-without-zeroing needs --thin-pool (it accepts that pool)"))
	}
	return errs
}

func (o *Options) validateNode() []error {
	var errs []error
	if o.NodeID == "" {
		errs = append(errs, errors.New("--node-id is required in node mode (the hostname could not be read)"))
	} else if !nodeNamePattern.MatchString(o.NodeID) {
		errs = append(errs, fmt.Errorf("--node-id %q is not a lower-case DNS name", o.NodeID))
	}
	if !filepath.IsAbs(o.InitiatorNameFile) {
		errs = append(errs, fmt.Errorf("--initiator-name-file must be an absolute path, got %q", o.InitiatorNameFile))
	}
	if !filepath.IsAbs(o.ISCSILockFile) {
		errs = append(errs, fmt.Errorf("--iscsi-lock-file must be an absolute path, got %q", o.ISCSILockFile))
	}
	if !filepath.IsAbs(o.KubeletDir) || filepath.Clean(o.KubeletDir) != o.KubeletDir || o.KubeletDir == "/" {
		errs = append(errs, fmt.Errorf("--kubelet-dir must be an absolute, clean path other than /, got %q", o.KubeletDir))
	}
	if p := o.KubeletRegistrationPath; p != "" && (!filepath.IsAbs(p) || filepath.Clean(p) != p) {
		errs = append(errs, fmt.Errorf("--kubelet-registration-path must be an absolute, clean path, got %q", p))
	}
	if o.MaxVolumesPerNode < 0 {
		errs = append(errs, fmt.Errorf("--max-volumes-per-node %d is negative", o.MaxVolumesPerNode))
	}
	if o.NodeOperationTimeout < time.Second {
		errs = append(errs, fmt.Errorf("--node-operation-timeout %v is shorter than 1s", o.NodeOperationTimeout))
	}
	return errs
}

// validLVMName follows lvm's rules for VG and LV names.
func validLVMName(name string) bool {
	if len(name) > 127 || !vgNamePattern.MatchString(name) || name == "." || name == ".." {
		return false
	}
	return true
}

// validatePortal insists on an IP literal: the kernel and udev name a
// node's sessions and disks by address, so a host name would never match.
func validatePortal(portal string) error {
	if !iscsi.ValidPortal(portal) {
		return fmt.Errorf("%q is not <IP address>:<port> (a host name cannot be matched to the node's disks)", portal)
	}
	return nil
}

// SocketPath returns the filesystem path of a unix:// endpoint.
func SocketPath(endpoint string) (string, error) {
	path, ok := strings.CutPrefix(endpoint, "unix://")
	if !ok {
		return "", fmt.Errorf("%q is not a unix:// endpoint", endpoint)
	}
	if !filepath.IsAbs(path) || filepath.Clean(path) != path {
		return "", fmt.Errorf("%q must name an absolute, clean socket path", endpoint)
	}
	return path, nil
}
