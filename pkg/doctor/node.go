package doctor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/iscsi"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/pool"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/publish"
)

// NodeConfig is a node's configuration, from the node plugin's own flags
// (same names).
type NodeConfig struct {
	InitiatorNameFile string
	// StateDir is the node plugin's --state-dir; its stage records are
	// <StateDir>/staged/<volume id>.json.
	StateDir   string
	KubeletDir string
	IQNPrefix  string
	// ReloginGrace is how long a FAILED session whose portal answers may
	// take to log in again before it counts as stuck (0:
	// DefaultReloginGrace).
	ReloginGrace time.Duration
	// SysRoot and ProcRoot are /sys and /proc (test directories in tests).
	SysRoot, ProcRoot string
	// ISCSIDSocket and MultipathdSocket are the daemons' control sockets
	// ('@' for abstract ones).
	ISCSIDSocket, MultipathdSocket string
	// Settle is how long a session or record must stay unstaged to be
	// reported: one reading could fall between two steps of a stage.
	Settle time.Duration
}

// Default sockets of open-iscsi and multipath-tools, both abstract.
const (
	DefaultISCSIDSocket     = "@ISCSIADM_ABSTRACT_NAMESPACE"
	DefaultMultipathdSocket = "@/org/kernel/linux/storage/multipathd"
)

// NodeInitiator is what the node checks use of iscsiadm (*iscsi.Iscsiadm,
// iscsifake.Initiator).
type NodeInitiator interface {
	Sessions(ctx context.Context) ([]iscsi.Session, error)
	Records(ctx context.Context) ([]iscsi.Record, error)
	Logout(ctx context.Context, portal, iqn string) error
	DeleteRecord(ctx context.Context, portal, iqn string) error
}

// NodeDeps are the tools the node checks read through.
type NodeDeps struct {
	Initiator NodeInitiator
	Dial      func(ctx context.Context, network, address string) error
}

// NodeChecks are a node's checks.
func NodeChecks(cfg NodeConfig, deps NodeDeps) []Check {
	n := &node{cfg: cfg, deps: deps}
	return []Check{
		{ID: "initiator-name", Run: n.checkInitiatorName},
		{ID: "iscsid", Run: n.checkISCSID},
		{ID: "kernel-modules", Run: n.checkModules},
		{ID: "stray-session", Run: n.checkSessionsAndRecords},
		{ID: "stuck-session", Run: n.checkStuckSessions},
		{ID: "stale-mount", Run: n.checkMounts},
		{ID: "multipathd", Run: n.checkMultipathd},
	}
}

type node struct {
	cfg  NodeConfig
	deps NodeDeps
}

func (n *node) checkInitiatorName(context.Context) []Finding {
	name, err := iscsi.ReadInitiatorName(n.cfg.InitiatorNameFile)
	if err != nil {
		return []Finding{{Severity: Error, What: err.Error(),
			Fix: fmt.Sprintf("install open-iscsi on the node (it writes the file), or write one: echo \"InitiatorName=$(iscsi-iname)\" > %s; "+
				"then restart iscsid and the node plugin. Never copy it from another machine", n.cfg.InitiatorNameFile)}}
	}
	return []Finding{ok("initiator-name", fmt.Sprintf("initiator name %s (%s)", name, n.cfg.InitiatorNameFile))}
}

func (n *node) checkISCSID(ctx context.Context) []Finding {
	fix := "start iscsid on the node: systemctl enable --now iscsid (install open-iscsi first if it is missing)"
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	if err := n.deps.Dial(dctx, "unix", n.cfg.ISCSIDSocket); err != nil {
		return []Finding{{Severity: Error, What: fmt.Sprintf("iscsid does not answer on its socket %s: %v", n.cfg.ISCSIDSocket, err), Fix: fix}}
	}
	sessions, err := n.deps.Initiator.Sessions(ctx)
	if err != nil {
		return []Finding{{Severity: Error, What: "iscsiadm -m session fails: " + err.Error(), Fix: fix}}
	}
	return []Finding{ok("iscsid", fmt.Sprintf("iscsid answers; %d session(s)", len(sessions)))}
}

func (n *node) checkModules(context.Context) []Finding {
	return checkModules(n.cfg.ProcRoot, n.cfg.SysRoot, []module{{"iscsi_tcp", "iSCSI over TCP, which every login needs"}})
}

// volumeOf returns the volume id of a target IQN of this driver, or "".
func (n *node) volumeOf(iqn string) string {
	id, ok := publish.VolumeIDOf(iqn)
	if !ok || !pool.ValidVolumeID(id) || iqn != publish.IQN(n.cfg.IQNPrefix, id) {
		return ""
	}
	return id
}

// staged reports whether the node plugin has a stage record of volume id;
// it writes one before it logs in and removes it after it logged out.
func (n *node) staged(id string) (bool, error) {
	_, err := os.Stat(filepath.Join(n.cfg.StateDir, "staged", id+".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}
