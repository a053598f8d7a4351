package driver

import (
	"context"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/pool"
)

var thinEnv = ParameterEnv{DefaultProvisioning: pool.Thin}

// TestParameterTableIsWellFormed holds every entry, present and future, to
// what the parser, the docs generator and the chart schema rely on.
func TestParameterTableIsWellFormed(t *testing.T) {
	keys := map[string]bool{}
	for _, d := range ParameterTable() {
		t.Run(d.Key, func(t *testing.T) {
			switch {
			case !regexp.MustCompile(`^[a-z][A-Za-z0-9]*$`).MatchString(d.Key):
				t.Errorf("key %q is not a lowerCamelCase word (StorageClass keys are free-form, ours are not)", d.Key)
			case keys[d.Key]:
				t.Errorf("key %q twice", d.Key)
			}
			keys[d.Key] = true
			if (d.Values == nil) == (d.Pattern == "") {
				t.Errorf("want exactly one of Values and Pattern")
			}
			if d.Pattern != "" {
				if _, err := regexp.Compile(d.Pattern); err != nil {
					t.Errorf("Pattern: %v", err)
				}
			}
			for _, v := range d.Values {
				if v == "" {
					t.Errorf("an empty value is allowed: absence is how the default is asked for")
				}
			}
			for field, text := range map[string]string{"Doc": d.Doc, "Default": d.Default} {
				if text == "" || strings.ContainsAny(text, "|\n") {
					t.Errorf("%s %q: want one non-empty line without | (it is a Markdown table cell)", field, text)
				}
			}
			if d.set == nil {
				t.Error("no set")
			}
			switch d.Applies {
			case AppliesController:
				if d.get != nil || d.formatOptions != nil {
					t.Error("a controller-side parameter has node-side functions")
				}
			case AppliesNode:
				if d.get == nil {
					t.Error("a node-side parameter without get cannot reach the node")
				}
			default:
				t.Errorf("Applies %q", d.Applies)
			}
		})
	}
}

// Every allowed value parses; anything else is InvalidArgument; node-side
// values survive the trip through volume_context and controller-side ones
// never make it.
func TestParseParametersEveryValue(t *testing.T) {
	for _, d := range ParameterTable() {
		for _, v := range d.Values {
			p, err := ParseParameters(map[string]string{d.Key: v}, thinEnv)
			if err != nil {
				t.Fatalf("%s=%s: %v", d.Key, v, err)
			}
			vc := p.VolumeContext()
			if d.Applies == AppliesNode {
				if vc[d.Key] != v {
					t.Errorf("%s=%s: volume_context %v", d.Key, v, vc)
				}
				back, err := ParseVolumeContext(vc)
				if err != nil {
					t.Fatalf("%s=%s: volume_context %v: %v", d.Key, v, vc, err)
				}
				if !maps.Equal(back.VolumeContext(), vc) {
					t.Errorf("%s=%s: volume_context %v parsed back gives %v", d.Key, v, vc, back.VolumeContext())
				}
			} else if _, ok := vc[d.Key]; ok {
				t.Errorf("controller-side %s is in volume_context %v", d.Key, vc)
			}
			for _, bad := range []string{"", v + "0", " " + v, strings.ToUpper(v) + "X"} {
				if slices.Contains(d.Values, bad) {
					continue
				}
				_, err := ParseParameters(map[string]string{d.Key: bad}, thinEnv)
				wantCode(t, err, codes.InvalidArgument)
				if !strings.Contains(status.Convert(err).Message(), d.Want()) {
					t.Errorf("%s=%q: message %q does not say what is allowed (%s)", d.Key, bad, status.Convert(err).Message(), d.Want())
				}
				if d.Applies == AppliesNode {
					_, err := ParseVolumeContext(map[string]string{d.Key: bad})
					wantCode(t, err, codes.InvalidArgument)
				}
			}
		}
	}
}

func TestParseParametersDefaultsAndKeys(t *testing.T) {
	for _, env := range []ParameterEnv{{DefaultProvisioning: pool.Thin}, {DefaultProvisioning: pool.Thick}} {
		p, err := ParseParameters(nil, env)
		if err != nil {
			t.Fatal(err)
		}
		if p != (Parameters{Provisioning: env.DefaultProvisioning}) || p.VolumeContext() != nil || p.FormatOptions("ext4") != nil {
			t.Errorf("defaults with %+v: %+v, volume_context %v, mkfs options %q", env, p, p.VolumeContext(), p.FormatOptions("ext4"))
		}
	}
	// csi-provisioner's own keys are accepted and ignored.
	p, err := ParseParameters(map[string]string{
		"csi.storage.k8s.io/pvc/name": "data", "csi.storage.k8s.io/pv/name": "pvc-1", "csi.storage.k8s.io/fstype": "xfs",
		"provisioning": "thick", "blockSize": "2048",
	}, thinEnv)
	if err != nil || p != (Parameters{Provisioning: pool.Thick, BlockSize: 2048}) {
		t.Fatalf("= %+v, %v", p, err)
	}
	for _, key := range []string{"fstype", "Provisioning", "blocksize", "csi.storage.k8s.io", "storage.kubernetes.io/csiProvisionerIdentity"} {
		_, err := ParseParameters(map[string]string{key: "x"}, thinEnv)
		wantCode(t, err, codes.InvalidArgument)
		msg := status.Convert(err).Message()
		for _, d := range ParameterTable() {
			if !strings.Contains(msg, d.Key) {
				t.Errorf("%s: %q does not name the known key %s", key, msg, d.Key)
			}
		}
	}
}

// The node reads only its own keys: Kubernetes adds its own to
// volume_context, and a copy of a controller-side key does no harm.
func TestParseVolumeContextIgnoresOtherKeys(t *testing.T) {
	p, err := ParseVolumeContext(map[string]string{
		"storage.kubernetes.io/csiProvisionerIdentity": "1700000000000-8081-lvm-iscsi.csi.io",
		"provisioning": "fat", "blockSize": "1024",
	})
	if err != nil || p != (Parameters{BlockSize: 1024}) {
		t.Fatalf("= %+v, %v", p, err)
	}
	if p, err := ParseVolumeContext(nil); err != nil || p != (Parameters{}) {
		t.Fatalf("no volume_context (a volume from before the parameter): %+v, %v", p, err)
	}
}

func TestFormatOptions(t *testing.T) {
	for _, tc := range []struct {
		blockSize int
		fsType    string
		want      []string
	}{
		{0, "ext4", nil},
		{0, "xfs", nil},
		{1024, "ext4", []string{"-b", "1024"}},
		{4096, "xfs", []string{"-b", "size=4096"}},
	} {
		if got := (Parameters{BlockSize: tc.blockSize}).FormatOptions(tc.fsType); !slices.Equal(got, tc.want) {
			t.Errorf("blockSize %d on %s: %q, want %q", tc.blockSize, tc.fsType, got, tc.want)
		}
	}
}

// CreateVolume, ValidateVolumeCapabilities and GetCapacity read the
// parameters the same way.
func TestControllerCallsShareTheParse(t *testing.T) {
	c, l, _ := newController(t)
	ctx := context.Background()
	resp, err := c.CreateVolume(ctx, createReq("pvc-bs", 8*mib, map[string]string{"blockSize": "2048", "provisioning": "thick"}))
	if err != nil {
		t.Fatal(err)
	}
	if vc := resp.GetVolume().GetVolumeContext(); !maps.Equal(vc, map[string]string{"blockSize": "2048"}) {
		t.Errorf("volume_context %v, want blockSize=2048 for the node and nothing else", vc)
	}
	lv, _ := l.GetLV(ctx, "vg0", resp.GetVolume().GetVolumeId())
	if lv.PoolLV != "" {
		t.Errorf("provisioning=thick made %+v", lv)
	}

	bad := map[string]string{"blockSize": "512"}
	_, err = c.CreateVolume(ctx, createReq("pvc-bad", 8*mib, bad))
	wantCode(t, err, codes.InvalidArgument)
	if n := l.Calls("CreateLV"); n != 1 {
		t.Errorf("lvcreate ran %d times, want 1", n)
	}
	v, err := c.ValidateVolumeCapabilities(ctx, &csi.ValidateVolumeCapabilitiesRequest{
		VolumeId: resp.GetVolume().GetVolumeId(), VolumeCapabilities: []*csi.VolumeCapability{rwo}, Parameters: bad,
	})
	if err != nil || v.GetConfirmed() != nil || !strings.Contains(v.GetMessage(), "blockSize") {
		t.Errorf("ValidateVolumeCapabilities with %v = %v, %v; want unconfirmed, saying why", bad, v, err)
	}
	_, err = c.GetCapacity(ctx, &csi.GetCapacityRequest{Parameters: bad})
	wantCode(t, err, codes.InvalidArgument)
	if _, err := c.GetCapacity(ctx, &csi.GetCapacityRequest{Parameters: map[string]string{"blockSize": "4096"}}); err != nil {
		t.Errorf("GetCapacity with a node-side parameter: %v", err)
	}
}
