package driver

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/klog/v2"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/atomicfile"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/publish"
)

// nodeKeyFile holds the node's X25519 private key in --state-dir, which
// the chart keeps on a host path, so the key outlives the pod.
const nodeKeyFile = "node.key"

// nodeKeyPrefix starts the file's one line, so it says what it is.
const nodeKeyPrefix = "x25519 "

// LoadNodeKey returns this node's key pair, creating it at first start:
// written complete (0600) under its name in one step, never replacing a
// key already there. A file that does not hold a key stops the plugin:
// a new key would make every volume already attached to this node
// unstageable until it is attached again, which an administrator must
// choose (docs/security.md: delete the file).
func LoadNodeKey(stateDir string) (*publish.NodeKey, error) {
	path := filepath.Join(stateDir, nodeKeyFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		k, err := publish.GenerateNodeKey()
		if err != nil {
			return nil, err
		}
		line := nodeKeyPrefix + base64.StdEncoding.EncodeToString(k.Private[:]) + "\n"
		err = atomicfile.Create(path, []byte(line), 0o600)
		if errors.Is(err, fs.ErrExist) {
			return LoadNodeKey(stateDir) // another process won: use its key
		}
		if err != nil {
			return nil, fmt.Errorf("storing a new node key in %s: %w", path, err)
		}
		klog.InfoS("Created this node's key; CHAP credentials are sealed to it", "path", path)
		return k, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the node key %s: %w", path, err)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(strings.TrimPrefix(string(b), nodeKeyPrefix), "\n"))
	if !strings.HasPrefix(string(b), nodeKeyPrefix) || err != nil || len(raw) != 32 {
		return nil, fmt.Errorf("%s holds no node key; delete it to make a new one "+
			"(volumes attached to this node must then be detached and attached again)", path)
	}
	return publish.NodeKeyFromPrivate(raw)
}
