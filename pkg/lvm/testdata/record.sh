#!/usr/bin/env bash
# Records the real lvm2 outputs the unit tests replay. It needs a kernel with
# device-mapper and dm-thin (the project machines have none), so run it in the
# real-kernel guest:
#
#   /work/shared/recipes/realkernel-vm.sh pkg/lvm/testdata/record.sh /tmp/lvm-vm-out
#
# then copy /tmp/lvm-vm-out/lvm/* into pkg/lvm/testdata/. Each recording NAME
# is NAME.argv (one argument a line), NAME.stdout, NAME.stderr and NAME.rc
# (exit code). The unit tests check that pkg/lvm builds the very argv lists
# recorded here.
set -u
export LC_ALL=C LVM_SUPPRESS_FD_WARNINGS=1
out=/out/lvm
rm -rf "$out"; mkdir -p "$out"

rec() {
	local name=$1; shift
	printf '%s\n' "$@" >"$out/$name.argv"
	"$@" >"$out/$name.stdout" 2>"$out/$name.stderr" </dev/null
	echo $? >"$out/$name.rc"
}

vg=csivg
vgs_cmd=(vgs --reportformat json --units b --nosuffix -o vg_name,vg_uuid,vg_size,vg_free,vg_extent_size)
lvs_cmd=(lvs --reportformat json --units b --nosuffix -o lv_name,vg_name,lv_uuid,lv_size,lv_attr,lv_tags,pool_lv,origin,data_percent,metadata_percent,lv_path)

lvm version >"$out/lvm-version.txt"
truncate -s 1G /var/tmp/pv.img
loop=$(losetup -f --show /var/tmp/pv.img)
pvcreate -q "$loop" && vgcreate -q "$vg" "$loop" || exit 1

rec vgs-fresh "${vgs_cmd[@]}" "$vg"
rec vgs-missing "${vgs_cmd[@]}" nosuchvg
rec lvs-empty "${lvs_cmd[@]}" "$vg"

# Thick LV, as CreateLV runs it.
rec lvcreate-thick lvcreate -y --wipesignatures y -Zy -n thick1 -L 67108864b --addtag csi.name=pvc-0001 --addtag lvm-iscsi-csi "$vg"
rec lvs-created-thick "${lvs_cmd[@]}" "$vg/thick1"
rec lvcreate-exists lvcreate -y --wipesignatures y -Zy -n thick1 -L 67108864b "$vg"
rec lvcreate-nospace lvcreate -y --wipesignatures y -Zy -n huge -L 10737418240b "$vg"
# An LV someone else made.
rec lvcreate-foreign lvcreate -y -n foreign -L 16777216b "$vg"

# The administrator's thin pool, then a thin LV as CreateLV runs it.
rec lvcreate-pool lvcreate -y --type thin-pool -n pool -L 268435456b "$vg"
rec lvcreate-thin lvcreate -y --wipesignatures y -n thin1 -V 134217728b --thinpool pool --addtag csi.name=pvc-0002 --addtag lvm-iscsi-csi "$vg"
rec lvs-created-thin "${lvs_cmd[@]}" "$vg/thin1"
rec lvcreate-thin-zero lvcreate -y --wipesignatures y -Zy -n thin0 -V 8388608b --thinpool pool "$vg"
rec lvcreate-thin-nopool lvcreate -y --wipesignatures y -n thin9 -V 8388608b --thinpool nopool "$vg"
dd if=/dev/urandom of=/dev/$vg/thin1 bs=1M count=32 oflag=direct status=none

# Snapshots, as CreateSnapshot runs them.
rec lvcreate-thin-snapshot lvcreate -y -n snap1 -s "$vg/thin1" --addtag csi.snapshot=snap-0001 --addtag lvm-iscsi-csi
rec lvs-created-thin-snapshot "${lvs_cmd[@]}" "$vg/snap1"
rec lvcreate-cow-snapshot lvcreate -y -n cow1 -s -L 33554432b "$vg/thick1" --addtag csi.snapshot=snap-0002 --addtag lvm-iscsi-csi
rec lvs-created-cow-snapshot "${lvs_cmd[@]}" "$vg/cow1"
rec lvcreate-cow-snapshot-oversize lvcreate -y -n cow2 -s -L 10737418240b "$vg/thick1"
rec lvcreate-snapshot-nosize lvcreate -y -n snapx -s "$vg/thick1"
rec lvcreate-snapshot-noorigin lvcreate -y -n snapy -s "$vg/nosuch"

rec lvs-all "${lvs_cmd[@]}" "$vg"
rec lvs-all-hidden "${lvs_cmd[@]}" -a "$vg"
rec lvs-one "${lvs_cmd[@]}" "$vg/thick1"
rec lvs-missing "${lvs_cmd[@]}" "$vg/nosuch"
rec lvs-missing-vg "${lvs_cmd[@]}" nosuchvg
rec vgs-used "${vgs_cmd[@]}" "$vg"

# Tags.
rec lvchange-tags lvchange --addtag csi.published=node-1 --deltag lvm-iscsi-csi "$vg/thick1"
rec lvchange-tags-again lvchange --addtag csi.published=node-1 --deltag lvm-iscsi-csi "$vg/thick1"
rec lvchange-tags-missing lvchange --addtag x "$vg/nosuch"
rec lvchange-tags-invalid lvchange --addtag "bad tag" "$vg/thick1"
rec lvs-tags "${lvs_cmd[@]}" "$vg/thick1"

# Activating a thin snapshot (activation skip set by default).
rec lvchange-activate-plain lvchange -ay "$vg/snap1"
rec lvs-snapshot-after-plain-activate "${lvs_cmd[@]}" "$vg/snap1"
rec lvchange-activate lvchange -ay -K "$vg/snap1"
rec lvchange-activate-again lvchange -ay -K "$vg/snap1"
rec lvchange-activate-missing lvchange -ay -K "$vg/nosuch"
rec lvs-snapshot-active "${lvs_cmd[@]}" "$vg/snap1"

# Growing.
rec lvextend-thick lvextend -L 33554432b "$vg/foreign"
rec lvextend-same lvextend -L 33554432b "$vg/foreign"
rec lvextend-smaller lvextend -L 16777216b "$vg/foreign"
rec lvextend-nospace lvextend -L 10737418240b "$vg/foreign"
rec lvextend-missing lvextend -L 33554432b "$vg/nosuch"
rec lvextend-thin lvextend -L 268435456b "$vg/thin1"
rec lvextend-origin lvextend -L 134217728b "$vg/thick1"

# Removing, as RemoveLV runs it (-y, after checking for dependents itself).
exec 3<"/dev/$vg/foreign"
rec lvremove-inuse lvremove -y "$vg/foreign"
exec 3<&-
lvcreate -q -y -n mounted -L 16777216b "$vg" && mkfs.ext4 -q "/dev/$vg/mounted" && mkdir -p /mnt/m && mount "/dev/$vg/mounted" /mnt/m
rec lvremove-mounted lvremove -y "$vg/mounted"
umount /mnt/m
rec lvremove-missing lvremove -y "$vg/nosuch"
rec lvremove-missing-vg lvremove -y nosuchvg/x
# Without -y lvm asks before removing an active LV, an origin with its COW
# snapshots or a pool with its thin LVs, and the empty stdin answers no.
rec lvremove-prompt-active lvremove "$vg/foreign"
rec lvremove-prompt-cow-origin lvremove "$vg/thick1"
rec lvremove-prompt-pool lvremove "$vg/pool"
# A thin origin goes alone; its thin snapshot stays, with no origin any more.
rec lvremove-thin-origin lvremove -y "$vg/thin1"
rec lvs-after-thin-origin "${lvs_cmd[@]}" "$vg"
rec lvremove-cow-snapshot lvremove -y "$vg/cow2"
rec lvremove-thick lvremove -y "$vg/foreign"
rec lvremove-thin-snapshot lvremove -y "$vg/snap1"
# With -y lvm takes a COW origin's snapshots along: RemoveLV refuses first.
rec lvremove-cow-origin-yes lvremove -y "$vg/thick1"
rec lvs-after-removals "${lvs_cmd[@]}" "$vg"

# A COW snapshot larger than the free space.
lvcreate -q -y -n big -l 60%FREE "$vg"
rec lvcreate-cow-snapshot-nospace lvcreate -y -n cow3 -s -L "$(lvs --noheadings --units b --nosuffix -o lv_size "$vg/big" | tr -d ' ')b" "$vg/big"

# A full thin pool: lvm refuses new thin LVs only when the administrator set
# activation/thin_pool_autoextend_threshold below 100.
lvcreate -q -y --type thin-pool -n pool2 -L 33554432b "$vg"
lvcreate -q -y -n fill -V 33554432b --thinpool pool2 "$vg"
dd if=/dev/urandom of=/dev/$vg/fill bs=1M count=32 oflag=direct status=none
rec lvs-pool-full "${lvs_cmd[@]}" "$vg/pool2"
rec lvcreate-thin-poolfull lvcreate -y --wipesignatures y -n thin3 -V 8388608b --thinpool pool2 "$vg"
# The setting comes from a configuration file, as on a real host, so that the
# command lines stay the ones pkg/lvm runs.
mkdir -p /var/tmp/lvm-threshold
echo 'activation { thin_pool_autoextend_threshold = 80 }' >/var/tmp/lvm-threshold/lvm.conf
export LVM_SYSTEM_DIR=/var/tmp/lvm-threshold
rec lvcreate-thin-threshold lvcreate -y --wipesignatures y -n thin4 -V 8388608b --thinpool pool2 "$vg"
rec lvcreate-thin-snapshot-threshold lvcreate -y -n snap4 -s "$vg/fill"
unset LVM_SYSTEM_DIR

# Data remanence. A thin pool made without zeroing: lv_attr's 8th letter is
# "-" instead of "z" (lvs -o zero is a segment field: it would split a
# multi-segment LV into one row per segment), and the fix lvchange -Z y.
rec lvcreate-pool-nozero lvcreate -y --type thin-pool -Zn -n poolnz -L 16777216b "$vg"
rec lvs-pool-nozero "${lvs_cmd[@]}" "$vg/poolnz"
rec lvchange-pool-zero lvchange -Z y "$vg/poolnz"
rec lvs-pool-zero-fixed "${lvs_cmd[@]}" "$vg/poolnz"
# A COW snapshot split from its origin, as SplitSnapshot runs it: the COW
# area (old data of the origin) becomes a plain LV of the same name and tags.
lvcreate -q -y -n splitorig -L 8388608b "$vg"
printf 'OLD-DATA-MARKER\n%.0s' $(seq 1 1024) | dd of="/dev/$vg/splitorig" bs=1M conv=fsync status=none
lvcreate -q -y -n splitcow -s -L 12582912b --addtag lic.v1 --addtag lic.kind=snapshot "$vg/splitorig"
dd if=/dev/zero of="/dev/$vg/splitorig" bs=1M count=1 oflag=direct status=none
exec 3<"/dev/$vg/splitcow"
rec lvconvert-splitsnapshot-inuse lvconvert -y --splitsnapshot "$vg/splitcow"
exec 3<&-
rec lvconvert-splitsnapshot lvconvert -y --splitsnapshot "$vg/splitcow"
rec lvs-after-split "${lvs_cmd[@]}" "$vg/splitcow"
grep -c -a OLD-DATA-MARKER "/dev/$vg/splitcow" >"$out/split-markers.txt"
rec lvconvert-splitsnapshot-linear lvconvert -y --splitsnapshot "$vg/splitcow"
rec lvconvert-splitsnapshot-missing lvconvert -y --splitsnapshot "$vg/nosuch"

vgchange -q -an "$vg"; vgremove -q -ff -y "$vg"; pvremove -q "$loop"; losetup -d "$loop"
exit 0
