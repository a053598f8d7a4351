// Package logkeys checks the keys of the driver's structured log calls.
package logkeys

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// keys is every key the driver's structured logs use, with its one meaning
// (docs/logging.md). One thing has one key everywhere, so a query on a
// JSON log (volumeID="csi-…") finds every line about it; a new key is added
// here, and to the docs, on purpose.
var keys = map[string]string{
	"volumeID":       "a volume id (csi-…): the LV name and the last part of its target IQN",
	"snapshotID":     "a snapshot id",
	"name":           "the CSI name of a volume or snapshot",
	"lv":             "an LV by name (lv or vg/lv) where the line is about the LV as such (wiping, removing, the CHAP key LV), whatever it holds",
	"volumeGroup":    "the volume group",
	"thinPool":       "the thin pool",
	"iqn":            "a target IQN",
	"tid":            "a tgtd target id",
	"lun":            "a LUN number",
	"sid":            "a tgtd session id",
	"cid":            "a tgtd connection id",
	"initiator":      "an initiator IQN",
	"node":           "a node, by its CSI node id (name/initiator IQN/public key)",
	"otherNode":      "a second node, beside node",
	"portal":         "an iSCSI portal, address:port",
	"account":        "a tgtd CHAP account name (never its password)",
	"chap":           "whether CHAP is used (true/false; never a credential)",
	"keyID":          "the fingerprint of the CHAP key (never the key)",
	"device":         "a device path (/dev/…)",
	"disk":           "a kernel block device name (sdX)",
	"path":           "a filesystem path (staging or target path)",
	"filesystem":     "a filesystem type",
	"serial":         "a SCSI serial",
	"backingStore":   "a LUN's backing store path",
	"acl":            "a target's address ACL entry",
	"killPoint":      "a kill point of the test-only killpoints build (before:N or after:N)",
	"seq":            "the sequence number of an external command within a call (killpoints build)",
	"size":           "a size in bytes",
	"from":           "the old value of a change (a size in bytes)",
	"to":             "the new value of a change (a size in bytes)",
	"source":         "the volume or snapshot id a volume is filled from",
	"thin":           "whether an LV is thin (true/false)",
	"thinClone":      "whether a clone is a thin snapshot (true/false)",
	"state":          "a state read from the kernel or tgtd",
	"method":         "a gRPC method",
	"code":           "a gRPC status code",
	"duration":       "how long something took",
	"request":        "a gRPC request, sanitized (v=5)",
	"response":       "a gRPC response, sanitized (v=5)",
	"panic":          "a recovered panic's value",
	"stack":          "a recovered panic's stack",
	"err":            "an error (klog.InfoS); klog.ErrorS has its own",
	"cause":          "why something is done",
	"trigger":        "what started a reconcile pass",
	"work":           "unfinished work a reconcile pass started",
	"unfinishedWork": "how many pieces of unfinished work a pass found",
	"prerequisite":   "a prerequisite Probe checks",
	"command":        "a command line, secrets masked",
	"socket":         "a unix socket path",
	"address":        "a listening address, host:port",
	"endpoint":       "the CSI endpoint",
	"driver":         "the CSI driver name",
	"version":        "the driver's version",
	"mode":           "controller, node or all",
	"gracePeriod":    "the shutdown grace period",
	"locks":          "lock file paths",
	"holder":         "who holds a lock",
	"lock":           "a lock file path",
	"attempt":        "the number of a retry",
	"generation":     "a volume's CHAP credential generation (a number, never a credential)",
	"reason":         "a machine-readable reason (CamelCase)",
	"detail":         "what was found, in words",
}

// TestLogKeysAreTheVocabulary reads every klog.InfoS and klog.ErrorS call
// of the driver (tests excluded) and checks its keys.
func TestLogKeysAreTheVocabulary(t *testing.T) {
	used := map[string]bool{}
	fset := token.NewFileSet()
	for _, root := range []string{"../../pkg", "../../cmd"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return err
			}
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				first := 1 // InfoS(msg, kv...)
				switch sel.Sel.Name {
				case "InfoS":
				case "ErrorS":
					first = 2 // ErrorS(err, msg, kv...)
				default:
					return true
				}
				for i := first; i < len(call.Args); i += 2 {
					lit, ok := call.Args[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						t.Errorf("%s: a key that is not a string literal", fset.Position(call.Args[i].Pos()))
						continue
					}
					key, _ := strconv.Unquote(lit.Value)
					used[key] = true
					if _, ok := keys[key]; !ok {
						t.Errorf("%s: key %q is not in the vocabulary (test/logkeys, docs/logging.md)", fset.Position(lit.Pos()), key)
					}
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var unused []string
	for k := range keys {
		if !used[k] {
			unused = append(unused, k)
		}
	}
	slices.Sort(unused)
	if len(unused) > 0 {
		t.Errorf("keys in the vocabulary that no call uses any more: %v", unused)
	}
}
