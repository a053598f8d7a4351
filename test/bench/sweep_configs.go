package main

// sweepConfig is one data-path configuration of the sweep (make
// bench-datapath): how tgtd is started, how the LUN and the target are set
// up, and what the initiator's node record says before the login. Empty
// fields are tgt's and open-iscsi's defaults.
type sweepConfig struct {
	name string
	what string
	// tgtdArgs are extra arguments of the sweep's own tgtd (e.g. -t N).
	tgtdArgs []string
	// lunArgs are extra arguments of `tgtadm --op new --mode logicalunit`
	// (--bstype, --bsoflags).
	lunArgs []string
	// lunParams are appended to the LUN's `--op update --params`.
	lunParams string
	// targetParams are `tgtadm --op update --mode target --name --value`
	// pairs, set before the initiator logs in.
	targetParams [][2]string
	// nodeSettings are `iscsiadm -m node -o update -n -v` pairs, set before
	// the login.
	nodeSettings [][2]string
	// driver measures a volume of the driver itself (CSI calls, CHAP on):
	// the cross-check that "defaults" is what the driver exports, and after
	// a change of the driver's defaults, the figure with them.
	driver bool
	// params are the StorageClass parameters of the driver row's volume.
	params map[string]string
}

// wceOff is the caching mode page (8) of tgt's sbc.c with the WCE bit
// (0x04 of byte 2) cleared: tgtd then fdatasyncs after every write, the
// initiator sees "write through" and sends no SYNCHRONIZE CACHE.
const wceOff = "mode_page=8:0:18:0x10:0:0xff:0xff:0:0:0xff:0xff:0xff:0xff:0x80:0x14:0:0:0:0:0:0"

// bigPDUsTarget are the target's iSCSI negotiation keys raised from tgt's
// defaults (MaxRecvDataSegmentLength 8192, FirstBurstLength 65536,
// MaxBurstLength 262144, InitialR2T Yes): negotiation takes the minimum of
// lengths and InitialR2T is Yes if either side says Yes, so tgt's defaults
// win over open-iscsi's larger ones.
var bigPDUsTarget = [][2]string{
	{"MaxRecvDataSegmentLength", "262144"},
	{"MaxXmitDataSegmentLength", "262144"},
	{"FirstBurstLength", "262144"},
	{"MaxBurstLength", "1048576"},
	{"InitialR2T", "No"},
	{"ImmediateData", "Yes"},
}

// bigPDUsNode are the initiator's matching keys (Debian's iscsid.conf has
// most of them already; written so the record does not depend on it).
var bigPDUsNode = [][2]string{
	{"node.conn[0].iscsi.MaxRecvDataSegmentLength", "262144"},
	{"node.conn[0].iscsi.MaxXmitDataSegmentLength", "262144"},
	{"node.session.iscsi.FirstBurstLength", "262144"},
	{"node.session.iscsi.MaxBurstLength", "1048576"},
	{"node.session.iscsi.InitialR2T", "No"},
	{"node.session.iscsi.ImmediateData", "Yes"},
}

func sweepConfigs() []sweepConfig {
	return []sweepConfig{
		{name: "driver", driver: true, what: "a volume of the driver (CSI calls, CHAP on), its exports as they are"},
		{name: "driver writeCache=off", driver: true, params: map[string]string{"writeCache": "off"},
			what: "a volume of the driver made with the StorageClass parameter writeCache: off (write-through LUN)"},
		{name: "defaults", what: "tgt and open-iscsi defaults: bstype rdwr, host page cache, WCE on, 16 I/O threads"},
		{name: "aio", lunArgs: []string{"--bstype", "aio"}, what: "bstype aio (O_DIRECT, Linux AIO; SYNCHRONIZE CACHE and FUA are no-ops)"},
		{name: "direct", lunArgs: []string{"--bsoflags", "direct"}, what: "bstype rdwr, bsoflags direct (O_DIRECT: no host page cache)"},
		{name: "sync", lunArgs: []string{"--bsoflags", "sync"}, what: "bstype rdwr, bsoflags sync (O_SYNC: every write durable before it is acknowledged)"},
		{name: "wce-off", lunParams: wceOff, what: "write cache off in the caching mode page (fdatasync after every write)"},
		{name: "big-pdus", targetParams: bigPDUsTarget, nodeSettings: bigPDUsNode,
			what: "MaxRecvDataSegmentLength 256K both ways, FirstBurstLength 256K, MaxBurstLength 1M, ImmediateData Yes, InitialR2T No"},
		{name: "queue", nodeSettings: [][2]string{{"node.session.cmds_max", "256"}, {"node.session.queue_depth", "128"}},
			what: "node.session.cmds_max 256, node.session.queue_depth 128 (open-iscsi: 128, 32)"},
		{name: "iothreads-4", tgtdArgs: []string{"--nr_iothreads", "4"}, what: "tgtd --nr_iothreads 4 (default 16)"},
		{name: "iothreads-64", tgtdArgs: []string{"--nr_iothreads", "64"}, what: "tgtd --nr_iothreads 64"},
		{name: "big-pdus+direct", lunArgs: []string{"--bsoflags", "direct"}, targetParams: bigPDUsTarget, nodeSettings: bigPDUsNode,
			what: "big-pdus and bsoflags direct"},
		{name: "big-pdus+aio", lunArgs: []string{"--bstype", "aio"}, targetParams: bigPDUsTarget, nodeSettings: bigPDUsNode,
			what: "big-pdus and bstype aio"},
	}
}
