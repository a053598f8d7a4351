package lvm

import "context"

// SplitSnapshot separates the copy-on-write snapshot vg/name from its
// origin (lvconvert --splitsnapshot). What is left under the same name, with
// the same tags, is a plain linear LV holding the snapshot's COW area: the
// chunks of the origin as they were before each first write after the
// snapshot, and the exception table. lvconvert(8) documents it as the way to
// wipe a snapshot before removing it ("This LV can be wiped and then
// destroyed with lvremove"); the snapshot device itself cannot be used for
// that, because every write to it allocates new COW space instead of
// overwriting what the old chunks left.
//
// -y answers lvm's question about splitting an active LV. ErrInUse when the
// snapshot is open, ErrInvalid when the LV is not a COW snapshot (also when
// it was split already), ErrNotFound when it is gone (testdata/lvconvert-*).
func (l *LVM) SplitSnapshot(ctx context.Context, vg, name string) error {
	op := "split snapshot " + lvPath(vg, name)
	if err := checkLV(op, vg, name); err != nil {
		return err
	}
	_, err := l.run(ctx, op, "lvconvert", "-y", "--splitsnapshot", lvPath(vg, name))
	return err
}
