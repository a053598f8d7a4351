package driver

import (
	"context"
	"fmt"
	"io/fs"
	"net"
	"os"
	"time"
)

// Prerequisite is one thing outside the plugin that its mode needs: FAQ
// 3.1, 3.2 and 3.4 (docs/design.md) are volumes stuck because one of these
// was missing and nothing said so. Probe reports each failing one by name.
type Prerequisite struct {
	Name  string
	Check func(ctx context.Context) error
}

// SocketPrerequisite checks that a unix socket exists and accepts a
// connection. Names starting with '@' are Linux abstract sockets.
func SocketPrerequisite(name, path string) Prerequisite {
	return Prerequisite{Name: name, Check: func(ctx context.Context) error {
		if path[0] != '@' {
			info, err := os.Stat(path)
			if err != nil {
				return err
			}
			if info.Mode().Type() != fs.ModeSocket {
				return fmt.Errorf("%s is not a socket", path)
			}
		}
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		var d net.Dialer
		conn, err := d.DialContext(ctx, "unix", path)
		if err != nil {
			return err
		}
		return conn.Close()
	}}
}
