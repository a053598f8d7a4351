package packaging

import (
	"net"
	"path"
	"strconv"
	"strings"
	"testing"
)

// What a pod takes from its host: paths (hostPath volumes) and, on the host
// network, TCP ports. Both pods of the chart run on the host network.

// hostPathOf maps a path inside container c to the host path it reaches,
// through the deepest mount of c whose volume is a hostPath; "" when the
// path is on no host path (the image, an emptyDir).
func (p podSpec) hostPathOf(c container, inside string) string {
	inside = path.Clean(inside)
	best := ""
	host := ""
	for _, m := range c.VolumeMounts {
		mp := path.Clean(m.MountPath)
		if inside != mp && !strings.HasPrefix(inside, strings.TrimSuffix(mp, "/")+"/") {
			continue
		}
		if len(mp) <= len(best) {
			continue
		}
		best = mp
		host = ""
		if hp := p.hostPath(m.Name); hp != "" {
			host = path.Join(hp, strings.TrimPrefix(inside, mp))
		}
	}
	return host
}

// listener is a TCP port a container listens on.
type listener struct {
	container string
	host      string // "" for every address
	port      int
}

// listenFlags are the arguments by which the driver and the CSI sidecars
// are told where to listen (host:port, or :port).
var listenFlags = []string{"health-address", "http-endpoint", "metrics-address"}

// listeners returns the ports the container declares or is told to listen
// on, each once.
func (c container) listeners(t *testing.T) []listener {
	t.Helper()
	seen := map[int]bool{}
	var out []listener
	add := func(host string, port int) {
		if !seen[port] {
			seen[port] = true
			out = append(out, listener{container: c.Name, host: host, port: port})
		}
	}
	for _, f := range listenFlags {
		if v, ok := c.flag(f); ok && v != "" {
			host, port, err := net.SplitHostPort(v)
			n, perr := strconv.Atoi(port)
			if err != nil || perr != nil {
				t.Errorf("container %s: --%s=%q is not host:port", c.Name, f, v)
				continue
			}
			add(host, n)
		}
	}
	// livenessprobe's older spelling: --health-port=N on every address.
	if v, ok := c.flag("health-port"); ok {
		if n, err := strconv.Atoi(v); err == nil {
			add("", n)
		}
	}
	for _, p := range c.Ports {
		add("", p.ContainerPort)
	}
	return out
}

// podListeners returns every container's listeners.
func (p podSpec) listeners(t *testing.T) []listener {
	var out []listener
	for _, c := range p.Containers {
		out = append(out, c.listeners(t)...)
	}
	return out
}

// probePort resolves the port of the container's liveness probe: a number,
// or the name of one of the container's own ports (kubelet looks named
// ports up in the probing container only).
func (c container) probePort(t *testing.T) int {
	t.Helper()
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil {
		return 0
	}
	v := c.LivenessProbe.HTTPGet.Port.Value
	if n, err := strconv.Atoi(v); err == nil {
		return n
	}
	for _, p := range c.Ports {
		if p.Name == v {
			return p.ContainerPort
		}
	}
	t.Errorf("container %s: liveness probe port %q is none of its own ports", c.Name, v)
	return 0
}
