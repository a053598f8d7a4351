#!/bin/bash
# Records what the real iscsiadm prints and exits with for the calls pkg/iscsi
# makes, so the unit tests replay real output instead of invented strings.
# Run as root on a Debian host with open-iscsi installed:
#   pkg/iscsi/testdata/record.sh
# Each case NAME leaves NAME.argv (one argument per line), NAME.stdout,
# NAME.stderr and NAME.exit in testdata/recorded/. The tests use the recorded
# argv as the exact command they expect the code to build.
#
# It creates and deletes node records for the test IQNs only. It starts no
# daemon: on the project machines iscsid cannot run at all (the kernel has no
# iSCSI netlink: "iscsid: can not create NETLINK_ISCSI socket [Protocol not
# supported]"), so every login here fails with exit 20, and that failure is
# what gets recorded. A logged-in session cannot be recorded here; see
# session_two.stdout.
set -u
cd "$(dirname "$0")"
out=recorded
mkdir -p "$out"

portal=127.0.0.1:3262
iqn=iqn.2026-11.io.csi.lvm-iscsi:vol-test
missing=iqn.2026-11.io.csi.lvm-iscsi:vol-missing

rec() {
	local name=$1
	shift
	printf '%s\n' "$@" >"$out/$name.argv"
	"$@" >"$out/$name.stdout" 2>"$out/$name.stderr"
	echo $? >"$out/$name.exit"
	echo "$name: exit $(cat "$out/$name.exit")"
}

cleanup() {
	iscsiadm -m node -T "$iqn" -p "$portal" -o delete >/dev/null 2>&1
}
trap cleanup EXIT

cp /etc/iscsi/initiatorname.iscsi "$out/initiatorname.iscsi"

rec session_none iscsiadm -m session
rec node_new iscsiadm -m node -T "$iqn" -p "$portal" -o new
rec node_new_again iscsiadm -m node -T "$iqn" -p "$portal" -o new
rec login_no_iscsid iscsiadm -m node -T "$iqn" -p "$portal" --login

# Login writes its settings with one update of several -n/-v pairs, in
# recordSettings' order; the show after each proves iscsiadm applied every
# pair, not just the first or the last.
settings=(-n node.startup -v manual
	-n 'node.conn[0].timeo.login_timeout' -v 10
	-n node.session.initial_login_retry_max -v 2
	-n node.session.timeo.replacement_timeout -v 120)
chap=(-n node.session.auth.authmethod -v CHAP
	-n node.session.auth.username -v chap-user
	-n node.session.auth.password -v chap-secret-0123456789)
rec update_record_none iscsiadm -m node -T "$iqn" -p "$portal" -o update "${settings[@]}" -n node.session.auth.authmethod -v None
rec show_record_none iscsiadm -m node -T "$iqn" -p "$portal"
rec update_record_chap iscsiadm -m node -T "$iqn" -p "$portal" -o update "${settings[@]}" "${chap[@]}"
rec show_record_chap iscsiadm -m node -T "$iqn" -p "$portal" --show
rec update_bad_name iscsiadm -m node -T "$iqn" -p "$portal" -o update -n node.session.auth.no_such_field -v chap-secret-0123456789
rec update_record_missing iscsiadm -m node -T "$missing" -p "$portal" -o update "${settings[@]}" "${chap[@]}"

rec login_missing iscsiadm -m node -T "$missing" -p "$portal" --login
rec rescan_missing iscsiadm -m session -r 1 --rescan
rec logout_no_session iscsiadm -m node -T "$iqn" -p "$portal" --logout
rec logout_missing iscsiadm -m node -T "$missing" -p "$portal" --logout
rec delete iscsiadm -m node -T "$iqn" -p "$portal" -o delete
rec delete_missing iscsiadm -m node -T "$iqn" -p "$portal" -o delete

# blockdev, which Devices.Remove runs before deleting a disk: a device that
# is already gone, and a path that is not a block device.
rec blockdev_missing blockdev --flushbufs /dev/sdzz
rec blockdev_not_block blockdev --flushbufs /dev/null

# The unit serial number page tgt serves for a LUN whose scsi_sn is set the
# way the controller sets it. The kernel cannot log in here, so libiscsi's
# userspace initiator (iscsi-inq, package libiscsi-bin) asks a private tgtd
# (control port 9, loopback portal 127.0.0.1:3262) instead. tgt right-aligns
# the serial in a 36-byte field padded with spaces; the kernel's vpd_pg80 is
# that field behind the 4-byte page header.
if command -v iscsi-inq >/dev/null && command -v tgtd >/dev/null; then
	lun=$(mktemp /tmp/iscsi-record-lun.XXXXXX)
	truncate -s 16M "$lun"
	tgtd -f -C 9 --iscsi portal="$portal" >/dev/null 2>&1 &
	sleep 1
	initiator=$(sed -n 's/^InitiatorName=//p' /etc/iscsi/initiatorname.iscsi)
	tgtadm -C 9 --lld iscsi --mode target --op new --tid 1 -T "$iqn"
	tgtadm -C 9 --lld iscsi --mode logicalunit --op new --tid 1 --lun 1 -b "$lun"
	tgtadm -C 9 --lld iscsi --mode logicalunit --op update --tid 1 --lun 1 --params scsi_sn=vol-test
	tgtadm -C 9 --lld iscsi --mode target --op bind --tid 1 -Q "$initiator"
	iscsi-inq -i "$initiator" --evpd=1 --pagecode=128 "iscsi://$portal/$iqn/1" >"$out/tgt_unit_serial.stdout"
	echo "tgt_unit_serial: exit $?"
	# tgtd ignores SIGTERM while it has targets; shut it down through tgtadm.
	tgtadm -C 9 --lld iscsi --mode target --op delete --force --tid 1
	tgtadm -C 9 --mode system --op delete
	wait
	rm -f "$lun"
fi
