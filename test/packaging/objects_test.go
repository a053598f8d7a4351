package packaging

import (
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/driver"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/pool"
)

// TestCSIDriver: the CSIDriver is named as the driver calls itself
// (--driver-name), attach is required (ControllerPublish fences the
// target), and capacity tracking is announced only with a provisioner
// producing it.
func TestCSIDriver(t *testing.T) {
	forEachRender(t, func(t *testing.T, r render) {
		driverName := driverNameOf(t, r)
		drivers := r.ofKind("CSIDriver")
		if len(drivers) != 1 || drivers[0].Metadata.Name != driverName {
			t.Fatalf("want one CSIDriver %s, have %d", driverName, len(drivers))
		}
		var d struct {
			Spec struct {
				AttachRequired  *bool  `yaml:"attachRequired"`
				StorageCapacity *bool  `yaml:"storageCapacity"`
				FSGroupPolicy   string `yaml:"fsGroupPolicy"`
			} `yaml:"spec"`
		}
		drivers[0].decode(t, &d)
		if d.Spec.AttachRequired == nil || !*d.Spec.AttachRequired {
			t.Error("attachRequired is not true")
		}
		if d.Spec.FSGroupPolicy == "" {
			t.Error("no fsGroupPolicy")
		}
		_, w := onlyWorkload(t, r, "Deployment")
		prov := w.Spec.Template.Spec.container(t, "csi-provisioner")
		enabled := false
		for _, a := range prov.Args {
			enabled = enabled || a == "--enable-capacity"
		}
		if d.Spec.StorageCapacity == nil || *d.Spec.StorageCapacity != enabled {
			t.Errorf("storageCapacity %v but csi-provisioner --enable-capacity %v: the scheduler would wait for objects nobody writes", d.Spec.StorageCapacity, enabled)
		}
	})
}

// TestStorageClasses: every class (and the VolumeSnapshotClass) names this
// release's driver, and only parameters the driver accepts (it refuses
// unknown ones with InvalidArgument): its own parse decides, so this test
// follows pkg/driver/parameters.go.
func TestStorageClasses(t *testing.T) {
	forEachRender(t, func(t *testing.T, r render) {
		driverName := driverNameOf(t, r)
		classes := r.ofKind("StorageClass")
		if len(classes) == 0 {
			t.Fatal("no StorageClass")
		}
		for _, o := range classes {
			var sc struct {
				Provisioner string            `yaml:"provisioner"`
				Parameters  map[string]string `yaml:"parameters"`
			}
			o.decode(t, &sc)
			if sc.Provisioner != driverName {
				t.Errorf("%s: provisioner %q", o.Metadata.Name, sc.Provisioner)
			}
			if _, err := driver.ParseParameters(sc.Parameters, driver.ParameterEnv{DefaultProvisioning: pool.Thick}); err != nil {
				t.Errorf("%s: the driver refuses its parameters: %v", o.Metadata.Name, err)
			}
			// csi-provisioner turns this one into the volume capability's
			// fs type, which the driver checks separately.
			if fs, ok := sc.Parameters["csi.storage.k8s.io/fstype"]; ok && fs != "ext4" && fs != "xfs" {
				t.Errorf("%s: csi.storage.k8s.io/fstype %q: the driver supports ext4 and xfs", o.Metadata.Name, fs)
			}
		}
		for _, o := range r.ofKind("VolumeSnapshotClass") {
			var vsc struct {
				Driver string `yaml:"driver"`
			}
			o.decode(t, &vsc)
			if vsc.Driver != driverName {
				t.Errorf("VolumeSnapshotClass %s: driver %q", o.Metadata.Name, vsc.Driver)
			}
		}
	})
}

// TestReferencesResolve: pods run as service accounts of the render, and
// every binding binds a role and an account of the render.
func TestReferencesResolve(t *testing.T) {
	forEachRender(t, func(t *testing.T, r render) {
		for _, kind := range []string{"Deployment", "DaemonSet"} {
			o, w := onlyWorkload(t, r, kind)
			sa := w.Spec.Template.Spec.ServiceAccountName
			if !r.has("ServiceAccount", o.Metadata.Namespace, sa) {
				t.Errorf("%s runs as ServiceAccount %s/%s, which is not rendered", kind, o.Metadata.Namespace, sa)
			}
		}
		for _, kind := range []string{"ClusterRoleBinding", "RoleBinding"} {
			for _, o := range r.ofKind(kind) {
				var b struct {
					RoleRef struct {
						Kind string `yaml:"kind"`
						Name string `yaml:"name"`
					} `yaml:"roleRef"`
					Subjects []struct {
						Kind      string `yaml:"kind"`
						Name      string `yaml:"name"`
						Namespace string `yaml:"namespace"`
					} `yaml:"subjects"`
				}
				o.decode(t, &b)
				roleNS := ""
				if b.RoleRef.Kind == "Role" {
					roleNS = o.Metadata.Namespace
				}
				if !r.has(b.RoleRef.Kind, roleNS, b.RoleRef.Name) {
					t.Errorf("%s %s: %s %s is not rendered", kind, o.Metadata.Name, b.RoleRef.Kind, b.RoleRef.Name)
				}
				for _, s := range b.Subjects {
					if s.Kind != "ServiceAccount" || !r.has("ServiceAccount", s.Namespace, s.Name) {
						t.Errorf("%s %s: subject %s %s/%s is not a rendered ServiceAccount", kind, o.Metadata.Name, s.Kind, s.Namespace, s.Name)
					}
				}
			}
		}
	})
}
