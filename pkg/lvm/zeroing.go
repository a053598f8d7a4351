package lvm

// attrZero is lv_attr's 8th letter: 'z' when newly provisioned blocks are
// zeroed before use, which is the thin pool's "zero" setting (lvcreate -Z,
// lvchange -Z), shown on the pool and on its thin LVs (lvs(8)).
const (
	attrZero  = 7
	zeroBlock = 'z'
)

// ZeroesNewBlocks reports whether a thin pool (or a thin LV, for its pool)
// overwrites a block with zeroes before a thin LV first uses it. Without it
// a new thin LV reads whatever a deleted one left in the blocks it is given.
//
// It is read from lv_attr rather than lvs' "zero" column: that column is a
// segment field, and asking for it makes lvs print one row per segment, so a
// thick LV grown into a second segment would be listed twice
// (testdata/lvs-pool-nozero, lvs-pool-zero-fixed).
func (lv *LV) ZeroesNewBlocks() bool { return lv.attr(attrZero) == zeroBlock }
