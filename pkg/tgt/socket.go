package tgt

import (
	"fmt"
	"os"
)

// defaultIPCSocket is TGT_IPC_NAMESPACE in tgt's tgtadm.h; tgtd appends
// ".<control port>".
const defaultIPCSocket = "/var/run/tgtd/socket"

// SocketPath is the unix socket tgtd listens on for tgtadm with the given
// control port (tgtd -C / tgtadm -C, 0 by default). Both tools take the base
// from TGT_IPC_SOCKET when it is set, and tgtadm inherits this process's
// environment, so this honours it too.
func SocketPath(controlPort int) string {
	base := os.Getenv("TGT_IPC_SOCKET")
	if base == "" {
		base = defaultIPCSocket
	}
	return fmt.Sprintf("%s.%d", base, controlPort)
}
