package main

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/mount-utils"
	utilexec "k8s.io/utils/exec"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/boundexec"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/driver"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/iscsi"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/metrics"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner"
)

// iscsiadmTimeout must outlast iscsiadm's own login timeout and retries
// (pkg/iscsi sets them), so iscsiadm reports its failure rather than being
// killed mid-login.
const iscsiadmTimeout = 3 * time.Minute

// iscsidSocket is open-iscsi's abstract control socket; iscsiadm reaches
// iscsid through it, so it accepting a connection means iscsid is up.
const iscsidSocket = "@ISCSIADM_ABSTRACT_NAMESPACE"

func wireNode(_ context.Context, opts driver.Options, cfg *driver.Config, reg *prometheus.Registry) error {
	iqn, err := iscsi.ReadInitiatorName(opts.InitiatorNameFile)
	if err != nil {
		// Without it the node cannot be fenced or logged in; say exactly
		// what to fix (FAQ 3.4 in docs/design.md: "is open-iscsi installed?").
		return fmt.Errorf("this node's iSCSI initiator name: %w (install open-iscsi, or set --initiator-name-file)", err)
	}
	// The key CHAP credentials are sealed to; its public half goes into
	// the node id (docs/security.md).
	key, err := driver.LoadNodeKey(opts.StateDir)
	if err != nil {
		return err
	}
	nodeID := driver.NodeID(opts.NodeID, iqn, &key.Public)
	if err := driver.CheckNodeID(nodeID); err != nil {
		return fmt.Errorf("the node id %q (%d bytes, of which %s and its initiator name %s): %w", nodeID, len(nodeID), opts.NodeID, iqn, err)
	}
	exec := killpointExec(utilexec.New())
	r := runner.New(exec, iscsiadmTimeout)
	// mkfs, fsck, blkid, mount, umount and the resize tools, each killed
	// past --node-operation-timeout (mount-utils gives them none).
	// The kill points (test build only) wrap them from outside, where
	// mount-utils' context-less commands are counted as the call's.
	tools := killpointExec(boundexec.New(boundexec.ProcessGroups{}, opts.NodeOperationTimeout))
	node := driver.NewNodeServer(driver.NodeConfig{
		NodeID:            nodeID,
		Key:               key,
		MaxVolumesPerNode: opts.MaxVolumesPerNode,
		KubeletDir:        opts.KubeletDir,
		StateDir:          opts.StateDir,
		Initiator:         iscsi.New(r, opts.ISCSILockFile),
		Disks:             iscsi.NewDevices(r, "/sys", "/dev"),
		Mounter:           mount.NewSafeFormatAndMount(boundexec.NewMounter(mount.New(""), tools), tools),
		Resizer:           mount.NewResizeFs(tools),
	})
	cfg.Node = node
	if reg != nil {
		metrics.NewNode(reg, nodeMetrics(node))
	}
	cfg.Prerequisites = append(cfg.Prerequisites,
		driver.Prerequisite{Name: "initiator name", Check: func(context.Context) error {
			_, err := iscsi.ReadInitiatorName(opts.InitiatorNameFile)
			return err
		}},
		driver.SocketPrerequisite("iscsid", iscsidSocket))
	return nil
}
