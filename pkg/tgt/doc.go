// Package tgt drives the userspace iSCSI target daemon tgtd through its admin
// tool, tgtadm: targets, logical units, initiator ACLs, CHAP accounts and
// sessions. Every call talks to one tgtd, chosen by its control port, and
// always passes "--lld iscsi".
//
// tgtd keeps all of this in memory only; the caller (pkg/pool) rebuilds it
// from LVM after a restart, so this package never writes tgt's config files.
//
// Behaviour checked against tgt 1.0.85 (Debian 12), see testdata/record.sh:
//
//   - "--op show --mode target" prints an indented text tree (4 spaces per
//     level) with no machine-readable option, and prints initiator-chosen
//     text (name, alias) verbatim in it; ParseTargets reads it against the
//     driver listing ("--mode lld") and skips the sessions' text, which come
//     from "--mode conn" instead (see docs/security.md).
//   - ACLs bound by address (-I) and by initiator name (-Q) are printed in one
//     "ACL information" list, addresses first; they are told apart by form.
//   - scsi_id and scsi_sn are silently cut to 36 bytes (SCSI_ID_LEN and
//     SCSI_SN_LEN in tgtd.h); AddLUN refuses longer values instead.
//   - Daemon-side failures all exit 22 (EINVAL) with a fixed message on
//     stderr, so errors are classified by that text; an unreachable daemon
//     exits with the socket's errno (107, ENOTCONN, for a missing socket).
//   - tgtd ignores SIGTERM and refuses "--op delete --mode system" while
//     targets exist.
package tgt
