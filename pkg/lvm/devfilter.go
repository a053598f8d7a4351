package lvm

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// DeviceFilter is how lvm chooses the devices it scans, as lvmconfig
// reports it (lvm.conf with lvm's defaults, and this LVM's --config on
// top): a device is used when both filters accept it and, with a devices
// file in use, the file lists it.
type DeviceFilter struct {
	GlobalFilter, Filter []string
	UseDevicesFile       bool
	DevicesFile          string // file name in lvm's devices directory
}

// DeviceFilter reads the filter settings every command of l runs with.
// It is not part of Interface: only the doctor reads it.
func (l *LVM) DeviceFilter(ctx context.Context) (*DeviceFilter, error) {
	out, err := l.command(ctx, "lvmconfig", "--typeconfig", "full",
		"devices/global_filter", "devices/filter", "devices/use_devicesfile", "devices/devicesfile")
	if err != nil {
		return nil, classify("read the device filter", err)
	}
	return parseDeviceFilter(out)
}

// parseDeviceFilter reads lvmconfig's key=value lines; strings are printed
// with lvm's escapes, which are JSON's for quote and backslash.
func parseDeviceFilter(out []byte) (*DeviceFilter, error) {
	var f DeviceFilter
	for _, line := range strings.Split(string(out), "\n") {
		key, value, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		var err error
		switch key {
		case "global_filter":
			f.GlobalFilter, err = parseStringList(value)
		case "filter":
			f.Filter, err = parseStringList(value)
		case "use_devicesfile":
			var n int
			n, err = strconv.Atoi(value)
			f.UseDevicesFile = n != 0
		case "devicesfile":
			f.DevicesFile, err = strconv.Unquote(value)
		}
		if err != nil {
			return nil, fmt.Errorf("lvmconfig printed %q: %w", line, err)
		}
	}
	return &f, nil
}

// parseStringList reads a list setting: lvmconfig prints ["a","b"], but a
// list of one element as a plain "a".
func parseStringList(value string) ([]string, error) {
	var list []string
	if strings.HasPrefix(value, "[") {
		err := json.Unmarshal([]byte(value), &list)
		return list, err
	}
	var one string
	if err := json.Unmarshal([]byte(value), &one); err != nil {
		return nil, err
	}
	return []string{one}, nil
}

// FilterRejects applies one lvm filter (a list of "a|regex|" and
// "r|regex|" patterns) to a device known by names, with lvm's rule
// (lvm.conf(5), devices/filter): each name is decided by the first pattern
// it matches; the device is accepted when any name is accepted, rejected
// when some name is rejected and none accepted, and accepted when no name
// matches any pattern. The regexes are read as Go regexps, which agree
// with lvm's for the anchors, classes and repetitions filters use.
func FilterRejects(patterns []string, names []string) (bool, error) {
	type rule struct {
		accept bool
		re     *regexp.Regexp
	}
	rules := make([]rule, 0, len(patterns))
	for _, p := range patterns {
		accept, expr, err := splitFilterPattern(p)
		if err != nil {
			return false, err
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return false, fmt.Errorf("filter pattern %q: %w", p, err)
		}
		rules = append(rules, rule{accept, re})
	}
	rejected := false
	for _, name := range names {
		for _, r := range rules {
			if r.re.MatchString(name) {
				if r.accept {
					return false, nil
				}
				rejected = true
				break
			}
		}
	}
	return rejected, nil
}

// splitFilterPattern takes "a|re|" or "r|re|" apart: the character after
// a or r delimits the regex (brackets pair up), and the pattern must end
// with its closing delimiter.
func splitFilterPattern(p string) (accept bool, expr string, err error) {
	if len(p) < 3 || (p[0] != 'a' && p[0] != 'r') {
		return false, "", fmt.Errorf("filter pattern %q does not start with a or r and a delimiter", p)
	}
	open := p[1]
	closing := map[byte]byte{'(': ')', '[': ']', '{': '}'}[open]
	if closing == 0 {
		closing = open
	}
	if p[len(p)-1] != closing {
		return false, "", fmt.Errorf("filter pattern %q does not end with its delimiter %q", p, closing)
	}
	return p[0] == 'a', p[2 : len(p)-1], nil
}
