package lvm

import "testing"

// The recording of lvcreate -s with a 10 GiB request on the 64 MiB thick1
// shows lvm's maximum usable size: 68 MiB. COWSize rounded to the 4 MiB
// extents of the recording VG must be exactly that (not less: the snapshot
// could fill up; not more: lvm would trim it anyway).
func TestCOWSizeIsLVMsMaximumUsableSize(t *testing.T) {
	const mib, extent = 1 << 20, 4 << 20
	for _, tc := range []struct{ origin, want uint64 }{
		{64 * mib, 68 * mib},
		// 10 GiB, by the same rule (not recorded): 2621440 chunks need
		// 10240 metadata chunks (40 MiB) and the header.
		{10 << 30, 10<<30 + 44*mib},
	} {
		got := (COWSize(tc.origin) + extent - 1) / extent * extent
		if got != tc.want {
			t.Errorf("COWSize(%d) rounds to %d, want %d", tc.origin, got, tc.want)
		}
		if COWSize(tc.origin) <= tc.origin {
			t.Errorf("COWSize(%d) leaves no room for the exception store", tc.origin)
		}
	}
}
