package doctor

import (
	"context"
	"time"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt"
)

// HostConfig is the storage host's configuration, from the controller's
// own flags (same names).
type HostConfig struct {
	VolumeGroup, ThinPool, Portal, IQNPrefix string
	CHAP                                     bool
	AllowThinPoolWithoutZeroing              bool
	TgtControlPort                           int
	// TgtSocket is tgtd's control socket (tgt.SocketPath(TgtControlPort)).
	TgtSocket string
	// LVMSystemDir is lvm's configuration directory (/etc/lvm), for the
	// devices file.
	LVMSystemDir string
	// SysRoot and ProcRoot are /sys and /proc (test directories in tests).
	SysRoot, ProcRoot string
	// Settle is how long a drift must last to be reported: the controller
	// changes tgtd after the tags, so one reading can catch a publish
	// half-way.
	Settle time.Duration
}

// FilterReader reads lvm's effective device filters (*lvm.LVM).
type FilterReader interface {
	DeviceFilter(ctx context.Context) (*lvm.DeviceFilter, error)
}

// HostDeps are the tools the storage host checks read through.
type HostDeps struct {
	LVM lvm.Interface
	Tgt tgt.Interface
	// DriverFilter reads lvm's filters with the driver's --config;
	// HostFilter with lvm.conf alone.
	DriverFilter, HostFilter FilterReader
	// Dial connects to a socket or address and hangs up; net.Dialer's in
	// production.
	Dial func(ctx context.Context, network, address string) error
}

// Thresholds of thin pool use, in percent.
const (
	thinWarnPercent  = 80
	thinErrorPercent = 95
)

// HostChecks are the storage host's checks, in the order they are worth
// reading: what keeps the controller from starting first.
func HostChecks(cfg HostConfig, deps HostDeps) []Check {
	h := &host{cfg: cfg, deps: deps}
	checks := []Check{
		{ID: "vg", Run: h.checkVG},
		{ID: "vg-free", Run: h.checkVGFree},
	}
	if cfg.ThinPool != "" {
		checks = append(checks,
			Check{ID: "thin-pool", Run: h.checkThinPool},
			Check{ID: "thin-pool-data", Run: h.checkThinData},
			Check{ID: "thin-pool-metadata", Run: h.checkThinMetadata},
			Check{ID: "thin-pool-zeroing", Run: h.checkThinZeroing})
	}
	checks = append(checks,
		Check{ID: "kernel-modules", Run: h.checkModules},
		Check{ID: "tgtd-socket", Run: h.checkTgtdSocket},
		Check{ID: "tgtd", Run: h.checkTgtd},
		Check{ID: "portal", Run: h.checkPortal},
		Check{ID: "lvm-filter", Run: h.checkDriverFilter},
		Check{ID: "lvm-filter-host", Run: h.checkHostFilter},
		Check{ID: "drift", Run: h.checkDrift})
	return checks
}

type host struct {
	cfg  HostConfig
	deps HostDeps
}
