package doctor

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// module is a kernel module a mode needs, with what needs it.
type module struct{ name, neededFor string }

// checkModules reports the modules in want that the kernel has neither
// loaded nor built in. /proc/modules lists loaded modules; a built-in one
// with parameters appears in /sys/module only, so both are read.
func checkModules(procRoot, sysRoot string, want []module) []Finding {
	loaded := map[string]bool{}
	if data, err := os.ReadFile(filepath.Join(procRoot, "modules")); err == nil {
		s := bufio.NewScanner(bytes.NewReader(data))
		for s.Scan() {
			if f := strings.Fields(s.Text()); len(f) > 0 {
				loaded[f[0]] = true
			}
		}
	}
	var missing []string
	var out []Finding
	for _, m := range want {
		if loaded[m.name] {
			continue
		}
		if _, err := os.Stat(filepath.Join(sysRoot, "module", m.name)); err == nil {
			continue
		}
		missing = append(missing, m.name)
		out = append(out, Finding{ID: "kernel-modules", Severity: Error,
			What:    fmt.Sprintf("kernel module %s (%s) is not loaded", m.name, m.neededFor),
			Fix:     fmt.Sprintf("on the host: modprobe %s, and add it to /etc/modules-load.d/ so it loads at boot", m.name),
			Command: []string{"modprobe", m.name}})
	}
	if len(missing) == 0 {
		names := make([]string, len(want))
		for i, m := range want {
			names[i] = m.name
		}
		return []Finding{ok("kernel-modules", "kernel modules present: "+strings.Join(names, ", "))}
	}
	return out
}
