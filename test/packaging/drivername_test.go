package packaging

import "testing"

// TestDriverNameValue: the driverName value reaches every driver container
// (--driver-name), the CSIDriver object, every StorageClass and the
// VolumeSnapshotClass, and kubelet's plugin and registration paths (the
// checks TestCSIDriver, TestStorageClasses and TestKubeletServices make
// against driverNameOf on every render).
func TestDriverNameValue(t *testing.T) {
	const name = "storage-9.lvm-iscsi.example.org"
	for _, mode := range [][]string{nil, sidecarModes} {
		args := append([]string{"--values", ciValues("thin-values.yaml"), "--set", "driverName=" + name}, snapshotAPIs...)
		r := helmTemplate(t, "lvm-iscsi-csi", "kube-system", append(args, mode...)...)
		if got := driverNameOf(t, r); got != name {
			t.Fatalf("--driver-name=%s, want %s", got, name)
		}
		checkKubeletServices(t, r)
		for _, kind := range []string{"CSIDriver", "StorageClass", "VolumeSnapshotClass"} {
			if len(r.ofKind(kind)) == 0 {
				t.Errorf("no %s rendered", kind)
			}
		}
		for _, o := range r.ofKind("CSIDriver") {
			if o.Metadata.Name != name {
				t.Errorf("CSIDriver %s, want %s", o.Metadata.Name, name)
			}
		}
		for _, kind := range []string{"StorageClass", "VolumeSnapshotClass"} {
			for _, o := range r.ofKind(kind) {
				var v struct {
					Provisioner string `yaml:"provisioner"`
					Driver      string `yaml:"driver"`
				}
				o.decode(t, &v)
				if v.Provisioner+v.Driver != name {
					t.Errorf("%s %s names driver %q, want %s", kind, o.Metadata.Name, v.Provisioner+v.Driver, name)
				}
			}
		}
	}
}
