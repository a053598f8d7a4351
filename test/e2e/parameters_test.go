//go:build e2e

package e2e

import (
	"strconv"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/test/e2e/lifecycle"
)

// A node-side StorageClass parameter goes from CreateVolume's
// volume_context to NodeStageVolume and reaches mkfs: the mounted ext4 has
// the block size asked for. On a 64 MiB volume Debian's mke2fs.conf
// ("small") alone gives 1024-byte blocks, so 4096 shows the option is
// applied, and 1024 that it is whatever mkfs would choose.
func TestBlockSizeReachesMkfs(t *testing.T) {
	for _, bs := range []int64{1024, 4096} {
		t.Run(strconv.FormatInt(bs, 10), func(t *testing.T) {
			d, ctx := connect(t)
			want := strconv.FormatInt(bs, 10)
			v := create(t, d, ctx, lifecycle.MountCapability("ext4"), map[string]string{"provisioning": "thin", "blockSize": want})
			if got := v.VolumeContext["blockSize"]; got != want {
				t.Fatalf("CreateVolume's volume_context %v, want blockSize=%s", v.VolumeContext, want)
			}
			if err := d.Up(ctx, v); err != nil {
				t.Fatal(err)
			}
			var st unix.Statfs_t
			if err := unix.Statfs(v.TargetPath, &st); err != nil {
				t.Fatal(err)
			}
			if st.Type != unix.EXT4_SUPER_MAGIC || st.Bsize != bs {
				t.Errorf("filesystem at %s: type %#x, block size %d; want ext4 (%#x) with %d-byte blocks",
					v.TargetPath, st.Type, st.Bsize, unix.EXT4_SUPER_MAGIC, bs)
			}
		})
	}
}
