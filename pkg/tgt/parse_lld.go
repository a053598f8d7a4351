package tgt

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseTargetNames reads the output of "tgtadm --op show --mode lld": each
// low-level driver and, under it, the targets it serves:
//
//	LLDs:
//	    iscsi: ready
//	        Target 1: iqn.2026-11.example:vol-a
//	    iser: error
//
// Unlike the target listing it holds nothing an initiator chose (only
// target ids and the names the administrator gave), so it says which
// "Target N: name" lines of the target listing are real headers. A tid or
// name listed twice is an error.
func ParseTargetNames(out []byte) ([]TargetName, error) {
	var names []TargetName
	header := false
	for i, raw := range splitLines(out) {
		text := strings.TrimRight(raw, " \t\r")
		if text == "" {
			continue
		}
		level, content, ok := indentLevel(text)
		bad := func(why string) error { return fmt.Errorf("tgtadm lld listing line %d %q: %s", i+1, raw, why) }
		switch {
		case !ok:
			return nil, bad("indentation is not a multiple of 4 spaces")
		case level == 0 && content == "LLDs:" && !header:
			header = true
		case level == 0 || !header:
			return nil, bad(`expected "LLDs:" first and only`)
		case level == 1:
			// "iscsi: ready": a driver and its state.
		case level == 2:
			n, err := parseTargetName(content)
			if err != nil {
				return nil, bad(err.Error())
			}
			names = append(names, n)
		default:
			return nil, bad("unexpected nesting")
		}
	}
	if err := checkNames(names); err != nil {
		return nil, err
	}
	return names, nil
}

// parseTargetName reads "Target 1: iqn.2026-11.example:vol-a".
func parseTargetName(content string) (TargetName, error) {
	rest, ok := strings.CutPrefix(content, "Target ")
	if !ok {
		return TargetName{}, fmt.Errorf(`expected "Target N: name"`)
	}
	tidText, iqn, ok := strings.Cut(rest, ": ")
	if !ok || iqn == "" {
		return TargetName{}, fmt.Errorf(`expected "Target N: name"`)
	}
	tid, err := strconv.Atoi(tidText)
	if err != nil || tid < 1 || strconv.Itoa(tid) != tidText {
		return TargetName{}, fmt.Errorf("target id %q", tidText)
	}
	return TargetName{TID: tid, IQN: iqn}, nil
}
