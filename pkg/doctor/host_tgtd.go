package doctor

import (
	"context"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strconv"
	"time"
)

// dialTimeout bounds one connection attempt of a check.
const dialTimeout = 3 * time.Second

func (h *host) checkModules(context.Context) []Finding {
	want := []module{{"dm_mod", "device-mapper, which every LV needs"}}
	if h.cfg.ThinPool != "" {
		want = append(want, module{"dm_thin_pool", "the thin pool"})
	}
	return checkModules(h.cfg.ProcRoot, h.cfg.SysRoot, want)
}

func (h *host) checkTgtdSocket(ctx context.Context) []Finding {
	path := h.cfg.TgtSocket
	fix := fmt.Sprintf("start tgtd on the storage host (systemctl enable --now tgt, or tgtd -C %d for control port %d); "+
		"in the controller pod, the socket's directory (/run/tgtd) must be the host's", h.cfg.TgtControlPort, h.cfg.TgtControlPort)
	info, err := os.Stat(path)
	if err != nil {
		return []Finding{{Severity: Error, What: fmt.Sprintf("tgtd's control socket %s: %v", path, err), Fix: fix}}
	}
	if info.Mode().Type() != fs.ModeSocket {
		return []Finding{{Severity: Error, What: fmt.Sprintf("%s is not a socket", path), Fix: fix}}
	}
	if err := h.dial(ctx, "unix", path); err != nil {
		return []Finding{{Severity: Error, What: fmt.Sprintf("tgtd's control socket %s does not accept connections (tgtd died and left it): %v", path, err), Fix: fix}}
	}
	return []Finding{ok("tgtd-socket", "tgtd's control socket "+path+" accepts connections")}
}

func (h *host) checkTgtd(ctx context.Context) []Finding {
	targets, err := h.deps.Tgt.ListTargets(ctx)
	if err == nil {
		_, err = h.deps.Tgt.ListAccounts(ctx)
	}
	if err != nil {
		return []Finding{{Severity: Error, What: "tgtadm cannot read tgtd's targets and accounts: " + err.Error(),
			Fix: fmt.Sprintf("start tgtd (systemctl enable --now tgt) and check tgtadm --lld iscsi -C %d --op show --mode target", h.cfg.TgtControlPort)}}
	}
	return []Finding{ok("tgtd", fmt.Sprintf("tgtd answers tgtadm: %d target(s)", len(targets)))}
}

func (h *host) checkPortal(ctx context.Context) []Finding {
	if _, _, err := net.SplitHostPort(h.cfg.Portal); err != nil {
		return []Finding{{Severity: Error, What: fmt.Sprintf("--portal %q is not host:port", h.cfg.Portal), Fix: "give the controller --portal=<storage host IP>:3260"}}
	}
	if err := h.dial(ctx, "tcp", h.cfg.Portal); err != nil {
		return []Finding{{Severity: Error, What: fmt.Sprintf("nothing accepts iSCSI connections on the portal %s: %v", h.cfg.Portal, err),
			Fix: fmt.Sprintf("make tgtd listen there: start it with --iscsi portal=%s (or without one, to listen on every address), "+
				"and open TCP port %s to the nodes in the firewall; check with ss -ltn", h.cfg.Portal, port(h.cfg.Portal))}}
	}
	return []Finding{ok("portal", "the portal "+h.cfg.Portal+" accepts TCP connections")}
}

func (h *host) dial(ctx context.Context, network, address string) error {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	return h.deps.Dial(ctx, network, address)
}

// NetDial connects and hangs up at once: HostDeps.Dial and NodeDeps.Dial in
// production.
func NetDial(ctx context.Context, network, address string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, address)
	if err != nil {
		return err
	}
	return conn.Close()
}

func port(hostport string) string {
	_, p, err := net.SplitHostPort(hostport)
	if err != nil {
		return strconv.Itoa(3260)
	}
	return p
}
