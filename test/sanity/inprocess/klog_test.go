package inprocess

import (
	"flag"

	. "github.com/onsi/ginkgo/v2"
	"k8s.io/klog/v2"
)

// quietKlog sends the driver's log (a line per gRPC call, errors included,
// since the suite makes many calls that must fail) to GinkgoWriter: ginkgo
// prints it with a spec that fails, or always with -ginkgo.v.
func quietKlog() {
	fs := flag.NewFlagSet("klog", flag.PanicOnError)
	klog.InitFlags(fs)
	for name, value := range map[string]string{
		"logtostderr":     "false",
		"alsologtostderr": "false",
		"stderrthreshold": "FATAL",
	} {
		if err := fs.Set(name, value); err != nil {
			panic(err)
		}
	}
	klog.SetOutput(GinkgoWriter)
}
