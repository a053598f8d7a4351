package iscsi

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
)

// DefaultInitiatorNameFile is where open-iscsi keeps this host's initiator
// name; iscsid refuses to start without it.
const DefaultInitiatorNameFile = "/etc/iscsi/initiatorname.iscsi"

// ReadInitiatorName returns the InitiatorName= value of an open-iscsi
// initiator name file (DefaultInitiatorNameFile on a host). It fails with
// an error naming the file when the file is missing, has no InitiatorName
// line, or the name is not a valid lower-case iSCSI name: the name is what
// targets are bound to, so guessing one would only lock the node out.
func ReadInitiatorName(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading iSCSI initiator name: %w (is open-iscsi installed and %s generated?)", err, path)
	}
	return parseInitiatorName(data, path)
}

// parseInitiatorName reads the first InitiatorName= line of the file's
// contents; path only names the file in errors.
func parseInitiatorName(data []byte, path string) (string, error) {
	scanner := bufio.NewScanner(bytes.NewReader(data))
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		if strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(key) != "InitiatorName" {
			continue
		}
		name := strings.TrimSpace(value)
		if name == "" {
			return "", fmt.Errorf("%w: %s has an empty InitiatorName", ErrInvalidArgument, path)
		}
		if !ValidIQN(name) {
			return "", fmt.Errorf("%w: InitiatorName %q in %s is not a lower-case iqn./eui./naa. name", ErrInvalidArgument, name, path)
		}
		return name, nil
	}
	if err := scanner.Err(); err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	return "", fmt.Errorf("%w: %s has no InitiatorName= line", ErrNotFound, path)
}
