package metrics

import (
	"context"
	"os"
	"regexp"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
)

// docs/metrics.md lists exactly the metrics the driver has: every one the
// collectors emit is documented, and every documented one exists.
func TestDocsListEveryMetric(t *testing.T) {
	reg := prometheus.NewRegistry()
	NewController(reg, fullStats, "vg0", "pool0")
	NewNode(reg, NodeSource{
		StagedVolumes:   func() (int, error) { return 1, nil },
		SessionsByState: func() (map[string]int, error) { return map[string]int{"LOGGED_IN": 1}, nil },
	})
	rpc := NewRPC(reg)
	// The call metrics appear once a call was made.
	_, _ = rpc.Interceptor()(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/csi.v1.Identity/Probe"},
		func(context.Context, any) (any, error) { return nil, nil })
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var emitted []string
	for _, f := range families {
		emitted = append(emitted, f.GetName())
	}

	doc, err := os.ReadFile("../../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	// A metric row: | `name` | counter|gauge|histogram|summary ...
	row := regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\| (counter|gauge|histogram|summary)")
	var documented []string
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		documented = append(documented, namespace+"_"+m[1])
	}
	if len(documented) == 0 {
		t.Fatal("docs/metrics.md: no metric rows found")
	}
	for _, name := range emitted {
		if !slices.Contains(documented, name) {
			t.Errorf("%s is emitted but not in docs/metrics.md", name)
		}
	}
	for _, name := range documented {
		if !slices.Contains(emitted, name) {
			t.Errorf("docs/metrics.md lists %s, which no collector emits", name)
		}
	}
}
