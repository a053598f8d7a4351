package lvm

// COWChunkSize is lvm's default chunk size for copy-on-write snapshots
// (lvcreate -c): the unit their exception store counts in.
const COWChunkSize = 4 << 10

// cowExceptionSize is one entry of dm-snapshot's on-disk exception store.
const cowExceptionSize = 16

// COWSize is how large a copy-on-write snapshot of an origin of originSize
// bytes must be so that it can never fill up, even when every block of the
// origin is rewritten: a chunk for each chunk of the origin, the exception
// store's metadata chunks (one 16-byte entry per data chunk), and its
// header. It is lvm2's "maximum usable size" of such a snapshot: lvcreate
// trims a larger request to it ("Reducing COW size ... down to maximum
// usable size", testdata/lvcreate-cow-snapshot-oversize), and a snapshot
// only as large as its origin becomes invalid once the whole origin has
// changed. One chunk of margin; lvcreate rounds up to whole extents.
func COWSize(originSize uint64) uint64 {
	chunks := (originSize + COWChunkSize - 1) / COWChunkSize
	perMetadataChunk := uint64(COWChunkSize / cowExceptionSize)
	metadata := (chunks + perMetadataChunk - 1) / perMetadataChunk
	return (chunks + metadata + 2) * COWChunkSize
}

// IsInvalidSnapshot reports whether lv is a copy-on-write snapshot that
// overflowed (or was dropped by dm-snapshot): its data is gone.
func (lv *LV) IsInvalidSnapshot() bool { return lv.attr(attrType) == typeInvalidCOW }
