#!/bin/bash
# Records the tgtadm outputs the unit tests parse, from a private tgtd that
# listens on loopback only and is killed at the end. Run as root from
# pkg/tgt/testdata: ./record.sh. Needs tgt; sessions need libiscsi-bin's
# iscsi-perf (a userspace initiator, as this host has no iscsi_tcp module).
set -euo pipefail

port=4217                      # private control port: /var/run/tgtd/socket.4217
portal=127.0.0.1:13261         # loopback only
work=/tmp/lvm-iscsi-csi-tgt-record
iqn=iqn.2026-11.io.csi.lvm-iscsi
node_a=iqn.1993-08.org.debian:01:node-a
node_b=iqn.1993-08.org.debian:01:node-b
here=$(pwd)

adm() { tgtadm --lld iscsi -C "$port" "$@"; }

# fail NAME ARGS...: runs tgtadm ARGS, which must fail, and keeps its stderr
# and exit code under failures/.
fail() {
	local name=$1
	shift
	local code=0
	adm "$@" 2>"$here/failures/$name.stderr" >/dev/null || code=$?
	if [ "$code" = 0 ]; then
		echo "expected $name to fail" >&2
		exit 1
	fi
	echo "$code" >"$here/failures/$name.exitcode"
}

rm -rf "$work" "$here/failures"
mkdir -p "$work" "$here/failures"
truncate -s 64M "$work/vol-a.img"
truncate -s 10M "$work/vol-b.img"

# Nothing listens yet: what tgtadm says when tgtd is not running.
fail daemon-not-running --op show --mode target

tgtd -f -C "$port" --iscsi portal="$portal" >"$work/tgtd.log" 2>&1 &
tgtd_pid=$!
trap 'kill -9 $tgtd_pid 2>/dev/null || true; rm -f /var/run/tgtd/socket.$port /var/run/tgtd/socket.$port.lock' EXIT
for _ in $(seq 50); do
	[ -S /var/run/tgtd/socket.$port ] && adm --op show --mode target >/dev/null 2>&1 && break
	sleep 0.1
done

adm --op show --mode target >"$here/show-target-empty.txt"
adm --op show --mode account >"$here/show-account-empty.txt"
adm --op show --mode lld >"$here/show-lld-empty.txt"

# Target 1: a thin LUN with our serial, every kind of ACL, CHAP both ways.
adm --op new --mode target --tid 1 --targetname "$iqn:vol-a"
adm --op new --mode logicalunit --tid 1 --lun 1 --backing-store "$work/vol-a.img"
adm --op update --mode logicalunit --tid 1 --lun 1 --params scsi_id=vol-a,scsi_sn=vol-a,thin_provisioning=1
adm --op bind --mode target --tid 1 --initiator-address 10.0.0.0/8
adm --op bind --mode target --tid 1 --initiator-address ALL
adm --op bind --mode target --tid 1 --initiator-name "$node_a"
adm --op bind --mode target --tid 1 --initiator-name "$node_b"
adm --op new --mode account --user vol-a-in --password vol-a-in-secret
adm --op new --mode account --user vol-a-in2 --password vol-a-in2-secret
adm --op new --mode account --user vol-a-out --password vol-a-out-secret
adm --op bind --mode account --tid 1 --user vol-a-in
adm --op bind --mode account --tid 1 --user vol-a-in2
adm --op bind --mode account --tid 1 --user vol-a-out --outgoing
# Target 3 (a gap at 2): tgt's default serial, LUN offline, no ACL.
adm --op new --mode target --tid 3 --targetname "$iqn:vol-b"
adm --op new --mode logicalunit --tid 3 --lun 1 --backing-store "$work/vol-b.img"
adm --op update --mode logicalunit --tid 3 --lun 1 --params online=0

adm --op show --mode target >"$here/show-target.txt"
adm --op show --mode account >"$here/show-account.txt"
adm --op show --mode lld >"$here/show-lld.txt"
adm --op show --mode conn --tid 1 >"$here/show-conn-empty.txt"

fail target-tid-exists --op new --mode target --tid 1 --targetname "$iqn:other"
fail target-name-exists --op new --mode target --tid 2 --targetname "$iqn:vol-a"
fail target-not-found --op delete --mode target --force --tid 9
fail lun-exists --op new --mode logicalunit --tid 1 --lun 1 --backing-store "$work/vol-b.img"
fail lun-target-not-found --op new --mode logicalunit --tid 9 --lun 1 --backing-store "$work/vol-b.img"
fail lun-backing-store-missing --op new --mode logicalunit --tid 1 --lun 2 --backing-store "$work/missing.img"
fail lun-not-found --op delete --mode logicalunit --tid 1 --lun 5
fail lun-update-not-found --op update --mode logicalunit --tid 1 --lun 5 --params online=1
fail acl-exists --op bind --mode target --tid 1 --initiator-name "$node_a"
fail acl-not-found --op unbind --mode target --tid 1 --initiator-name iqn.1993-08.org.debian:01:node-x
fail acl-target-not-found --op bind --mode target --tid 9 --initiator-name "$node_a"
fail account-exists --op new --mode account --user vol-a-in --password whatever-secret
fail account-not-found --op delete --mode account --user nobody
fail account-bind-not-found --op bind --mode account --tid 1 --user nobody
fail account-bind-exists --op bind --mode account --tid 1 --user vol-a-in
fail account-outgoing-exists --op bind --mode account --tid 1 --user vol-a-in --outgoing
fail account-unbind-not-bound --op unbind --mode account --tid 3 --user vol-a-in
fail connection-session-not-found --op delete --mode connection --tid 1 --sid 99 --cid 0

if command -v iscsi-perf >/dev/null; then
	# Two initiators logged in to target 3 (no CHAP there) while we look.
	adm --op bind --mode target --tid 3 --initiator-address 127.0.0.1
	adm --op update --mode logicalunit --tid 3 --lun 1 --params online=1
	iscsi-perf -i "$node_a" -t 20 -x 0 "iscsi://$portal/$iqn:vol-b/1" >/dev/null 2>&1 &
	perf_a=$!
	sleep 1 # node-a gets the first session id
	iscsi-perf -i "$node_b" -t 20 -x 0 "iscsi://$portal/$iqn:vol-b/1" >/dev/null 2>&1 &
	perf_b=$!
	sleep 2
	adm --op show --mode target >"$here/show-target-sessions.txt"
	adm --op show --mode conn --tid 3 >"$here/show-conn-sessions.txt"
	sid=$(adm --op show --mode target | awk '/I_T nexus: /{print $3; exit}')
	fail target-active --op delete --mode target --tid 3
	fail connection-not-found --op delete --mode connection --tid 3 --sid "$sid" --cid 7
	adm --op delete --mode connection --tid 3 --sid "$sid" --cid 0
	# iscsi-perf keeps retrying a closed connection: SIGKILL, not TERM.
	kill -9 "$perf_a" "$perf_b" 2>/dev/null || true
	wait "$perf_a" "$perf_b" 2>/dev/null || true
fi

# A stale socket: tgtd died without cleaning up.
kill -9 "$tgtd_pid"
wait "$tgtd_pid" 2>/dev/null || true
fail daemon-gone --op show --mode target
echo "recorded into $here"
