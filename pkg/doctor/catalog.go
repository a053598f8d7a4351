package doctor

// catalog says, for every finding id, why it matters: what a Kubernetes
// user sees and the item of the seed's FAQ (docs/design.md, "The failures
// this driver is built against") it corresponds to. docs/troubleshooting.md
// has a section per id; TestEveryFindingIsDocumented keeps the two in step.
var catalog = map[string]string{
	// Storage host.
	"vg": "without its volume group the controller is not ready: PVCs stay Pending with " +
		"\"storage host not ready\" events, CreateVolume fails Unavailable (FAQ 3.1, 3.2: no nova-volumes volume group)",
	"vg-free": "thick volumes, COW snapshots, thick clones and the thin pool's own growth take extents from the volume group; " +
		"when it runs out, CreateVolume fails ResourceExhausted and PVCs stay Pending",
	"thin-pool": "without the configured thin pool the controller is not ready and thin PVCs stay Pending (FAQ 3.2)",
	"thin-pool-data": "a full thin pool makes every thin volume's next new write fail or hang: pods see I/O errors and " +
		"filesystems go read-only; thin volumes report DEGRADED past --thin-pool-warn-percent",
	"thin-pool-metadata": "thin pool metadata running out is worse than data: the pool goes read-only or needs " +
		"lvconvert --repair, and every thin volume stops",
	"thin-pool-zeroing": "a thin pool that does not zero new blocks hands deleted volumes' data to new ones; " +
		"the controller refuses thin volumes (PVCs Pending) unless --allow-thin-pool-without-zeroing accepts it",
	"kernel-modules": "lvm needs device-mapper (dm_mod, dm_thin_pool for thin pools) on the storage host and a node needs " +
		"iscsi_tcp to log in: without them CreateVolume or NodeStageVolume fail and pods stay ContainerCreating",
	"tgtd-socket": "tgtd not running (or its control socket not where the controller looks) keeps the controller not ready: " +
		"PVCs Pending, attaches fail Unavailable (FAQ 3.2: tgt not installed or not started)",
	"tgtd": "tgtadm cannot talk to tgtd: nothing can be exported, attaches fail and VolumeAttachments report " +
		"\"storage host not ready\" (FAQ 3.2, 3.5)",
	"portal": "nodes log in to --portal; if tgtd does not listen there, NodeStageVolume fails and pods stay " +
		"ContainerCreating with \"connection refused\" or a login timeout (FAQ 3.2: \"lsof | grep 3260\", 3.4)",
	"lvm-filter": "the driver's lvm commands must not scan iSCSI disks: on a storage host that is also a node they would read " +
		"every volume's disk, hang for minutes on one whose target just went away, and see LVM metadata inside a volume " +
		"as the host's (the storage host's own LVM scanning imported volumes)",
	"lvm-filter-host": "the host's own lvm (udev's pvscan, lvm2-monitor, an administrator's vgs) reads lvm.conf, not the driver's " +
		"--config: without a filter it activates volume groups a tenant made inside a volume and holds its disk open, so " +
		"the volume cannot be unstaged or deleted",
	"stray-target": "a target of this driver that no published volume backs (FAQ 3.3: a target left behind, deleted by hand " +
		"with tgtadm); the controller's reconciler removes it, so one that stays means the controller is not reconciling",
	"stray-account": "a CHAP account of this driver that no published volume backs; the reconciler removes it",
	"target-missing": "a volume published to a node has no target: the node cannot log in, pods stay ContainerCreating " +
		"with a login failure, or running pods see I/O errors once the session's replacement timeout passes",
	"target-lun": "the LUN behind the target is not the volume's LV (backing store or serial differ): the node refuses the disk " +
		"(FailedPrecondition: wrong serial) and the pod stays ContainerCreating (FAQ 3.7: a disk that is not the one asked for)",
	"target-offline": "the target is offline, which the controller sets only while it refreshes a grown volume's size: tgtd " +
		"refuses its nodes' logins, pods see their I/O stall and fail once the session's replacement timeout passes",
	"target-acl": "the target's initiator ACL differs from the publications: a published node cannot log in, or a node the " +
		"volume was taken from can still write to it",
	"target-chap": "CHAP is on but the target has no account bound: tgtd then lets the bound initiators in without CHAP",
	"unfinished-lv": "a delete, clone or expansion that has not finished: the controller finishes or removes it; one that stays " +
		"across reconciles means the work keeps failing (FAQ 3.1, 3.3: volumes stuck in creating or deleting)",
	"malformed-tags": "tags of this driver that do not parse: the controller cannot tell what the volume is published to",
	"shared-initiator": "one initiator name published to two node names: each machine can reach the other's volumes " +
		"(a cloned disk image); the controller refuses new publications of it with FailedPrecondition",
	"drift": "tgtd and the LV tags could not both be read, so the targets, ACLs and CHAP accounts were not compared",
	// Node.
	"initiator-name": "without a valid /etc/iscsi/initiatorname.iscsi the node plugin does not start (its pod crash-loops) and " +
		"volumes cannot be fenced to the node (FAQ 3.4: open-iscsi not installed)",
	"iscsid": "iscsiadm needs iscsid: NodeStageVolume fails Unavailable and pods stay ContainerCreating " +
		"(FAQ 3.4, 3.6: open-iscsi not installed or not started)",
	"stray-session": "a session to a volume of this driver that is not staged on this node: its disk stays attached, the node " +
		"keeps a login the controller may have fenced, and a later stage of the volume finds it (FAQ 3.6: sessions managed by hand)",
	"stray-record": "an iscsiadm node record of a volume that is neither staged nor logged in: it holds the volume's CHAP " +
		"secret on disk, and open-iscsi would log in to it at boot if its startup were changed to automatic (FAQ 3.6)",
	"stuck-session": "a session of this driver the kernel shows FREE, or FAILED although its portal answers (the open-iscsi < 2.1.9 reopen loop after a target restart), " +
		"or in recovery past its replacement timeout: the pod using the volume gets I/O errors, its ext4 turns read-only or its " +
		"xfs shuts down, and the node plugin's volume health says Reconnecting or DiskOffline",
	"stage-records": "the node plugin's stage records could not be read, so sessions and records were not compared with them",
	"stale-mount": "a mount under the kubelet directory whose disk is gone: the pod using it sees I/O errors, and kubelet " +
		"cannot unmount or restage it cleanly (FAQ 3.7: an attach stuck)",
	"multipathd": "multipathd claiming a volume's disk holds it open: mkfs and mount fail with \"device busy\", pods stay " +
		"ContainerCreating, and unstage cannot remove the disk",
}

// why returns the catalogue text of a finding id.
func why(id string) string { return catalog[id] }
