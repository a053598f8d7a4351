package tgt

import "context"

// Target is one iSCSI target as tgtd reports it.
type Target struct {
	TID   int
	IQN   string
	State string // tgtd's target state: StateReady or StateOffline
	// LUNs excludes LUN 0, the controller LUN tgt adds to every target.
	LUNs []LUN
	// ACLs are initiator addresses allowed in (-I): "ALL", an IP address or
	// a network in CIDR form.
	ACLs []string
	// InitiatorNames are initiator IQNs allowed in (-Q).
	InitiatorNames []string
	// Accounts are the incoming CHAP users bound to the target. An
	// outgoing (mutual CHAP) account, which this driver never binds, is
	// not listed.
	Accounts []string
	Sessions []Session // tgt's "I_T nexus information"
}

// TargetName is one target as tgtd's driver listing names it: its id and
// its IQN, and nothing an initiator could have chosen.
type TargetName struct {
	TID int
	IQN string
}

// LUN is one logical unit of a target.
type LUN struct {
	Number int
	// Size is in bytes but only as precise as tgt prints it: rounded to
	// whole megabytes of 10^6 bytes.
	Size             uint64
	BlockSize        uint32
	Type             string // "disk", "controller", ...
	SCSIID, SCSISN   string
	Online           bool
	ReadOnly         bool
	ThinProvisioning bool
	BackingStore     string // "" when the LUN has none
	BackingStoreType string // "rdwr", "null", ...
}

// Session is one logged-in initiator (an I_T nexus).
type Session struct {
	SID int // the nexus id, which is the session's TSIH
	// Initiator is the name the initiator logged in with, byte for byte as
	// tgtd prints it. tgtd admits only a bound name or, through an address
	// ACL, any text at all: compare it only for equality with a valid name.
	Initiator string
	// Alias is never filled by *Tgt: the alias is free text the initiator
	// chooses, and this package does not read it (see ParseTargets).
	Alias string
	// Connections are the session's connections as tgtd lists them now.
	Connections []Connection
}

// Connection is one TCP connection of a session.
type Connection struct {
	CID int
	IP  string // the initiator's address
}

// LUNParams are the SCSI identity and features AddLUN sets on a new LUN.
// An empty SCSIID or SCSISN keeps tgt's default, which is derived from the
// target number and so changes when targets are rebuilt.
type LUNParams struct {
	SCSIID, SCSISN   string // at most MaxSCSIIDLen / MaxSCSISNLen bytes
	ThinProvisioning bool   // advertise UNMAP so initiators can discard
	// WriteCacheOff clears WCE in the LUN's caching mode page: tgtd then
	// syncs every write to the backing store before it acknowledges it,
	// and initiators see a write-through disk. tgtd does not list mode
	// pages, so a LUN's setting is only ever what AddLUN set.
	WriteCacheOff bool
}

// Interface is what the rest of the driver needs from tgtd; *Tgt implements
// it with tgtadm and tgtfake.Fake in memory.
type Interface interface {
	ListTargets(ctx context.Context) ([]Target, error)
	// ListTargetsWithoutSessions is ListTargets with no target's Sessions
	// read (nil); ListTargetNames is which tid is which IQN; TargetSessions
	// is one target's sessions, ErrNotFound once tid is not iqn's
	// (list_partial.go).
	ListTargetsWithoutSessions(ctx context.Context, names []TargetName) ([]Target, error)
	ListTargetNames(ctx context.Context) ([]TargetName, error)
	TargetSessions(ctx context.Context, tid int, iqn string) ([]Session, error)
	// CreateTarget fails with ErrExists if the tid or the name is taken.
	CreateTarget(ctx context.Context, tid int, iqn string) error
	// DeleteTarget removes a target even while initiators are logged in;
	// callers unbind and close connections first.
	DeleteTarget(ctx context.Context, tid int) error
	AddLUN(ctx context.Context, tid, lun int, backingStore string, p LUNParams) error
	DeleteLUN(ctx context.Context, tid, lun int) error
	// RefreshLUN re-reads the backing store's size (after it grew) without
	// removing the LUN or touching sessions; nothing of the target may be
	// in flight (luns.go).
	RefreshLUN(ctx context.Context, tid, lun int, backingStore string) error
	BindInitiator(ctx context.Context, tid int, initiatorIQN string) error
	UnbindInitiator(ctx context.Context, tid int, initiatorIQN string) error
	ListAccounts(ctx context.Context) ([]string, error)
	CreateAccount(ctx context.Context, user, password string) error
	// DeleteAccount also unbinds the account from every target.
	DeleteAccount(ctx context.Context, user string) error
	BindAccount(ctx context.Context, tid int, user string) error
	CloseConnection(ctx context.Context, tid, sid, cid int) error
	// SetTargetState sets a target StateReady or StateOffline (refusing
	// logins).
	SetTargetState(ctx context.Context, tid int, state string) error
	// SetTargetParams sets iSCSI login keys of a target (target_params.go);
	// tgtd lists them only per target, never in ListTargets.
	SetTargetParams(ctx context.Context, tid int, params []TargetParam) error
}
