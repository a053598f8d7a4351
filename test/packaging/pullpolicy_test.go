package packaging

import (
	"testing"
)

// TestSidecarPullPolicy: every container's imagePullPolicy comes from a
// value, so an air-gapped cluster with images imported into containerd can
// say Never for all of them (the sidecars' policy was fixed at
// IfNotPresent). image.pullPolicy sets the default for every container;
// sidecars.<name>.pullPolicy overrides one sidecar.
func TestSidecarPullPolicy(t *testing.T) {
	base := append([]string{"--values", ciValues("thin-values.yaml")}, sidecarModes...)
	base = append(base, snapshotAPIs...)
	for _, tc := range []struct {
		name     string
		args     []string
		want     string
		override map[string]string // container name → policy
	}{
		{name: "default", want: "IfNotPresent"},
		{name: "image.pullPolicy", args: []string{"--set", "image.pullPolicy=Never"}, want: "Never"},
		{
			name: "one sidecar",
			args: []string{"--set", "image.pullPolicy=Never", "--set", "sidecars.provisioner.pullPolicy=Always"},
			want: "Never", override: map[string]string{"csi-provisioner": "Always"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := helmTemplate(t, "lvm-iscsi-csi", "kube-system", append(append([]string{}, base...), tc.args...)...)
			n := 0
			for _, kind := range []string{"Deployment", "DaemonSet"} {
				_, w := onlyWorkload(t, r, kind)
				for _, c := range w.Spec.Template.Spec.Containers {
					n++
					want := tc.want
					if o, ok := tc.override[c.Name]; ok {
						want = o
					}
					if c.ImagePullPolicy != want {
						t.Errorf("%s/%s: imagePullPolicy %q, want %q", kind, c.Name, c.ImagePullPolicy, want)
					}
				}
			}
			if n != 10 {
				t.Errorf("%d containers rendered, want all 10 the chart can run", n)
			}
		})
	}
}
