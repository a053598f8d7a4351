package pool

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// LV tags are the database (docs/design.md, "State in LV tags": the storage
// is the database).
// Every tag of ours starts with tagPrefix; values that may hold arbitrary
// bytes (the CSI name, node ids) are base64url-encoded because LVM tags only
// allow [A-Za-z0-9_+.\-/=!:&#].
//
//	lic.v1                      this LV is a volume of ours (format version 1)
//	lic.name=<b64url>           the CSI name it was created for
//	lic.prov=thin|thick         how it was provisioned
//	lic.pub=<b64url id>.<b64url initiator>  published to that node (one tag per node)
//	lic.state=deleting          a delete started (wipe, then remove); start-up finishes it
//	lic.state=creating          a volume made from a source whose data is not all there yet
//	lic.kind=snapshot           the LV is a snapshot (lic.name is the snapshot's name)
//	lic.kind=scratch            a temporary point-in-time copy source for a clone
//	lic.src=<id>                the volume or snapshot it was made from
//	lic.time=<unix seconds>     when a snapshot was taken
//	lic.size=<bytes>            a snapshot's source size (a COW snapshot LV's own
//	                            size is its copy-on-write area, not the data's)
//	lic.grow=<bytes>            a thick volume grew past this size and the new
//	                            space is not zeroed yet: not exported until it is
//	                            (grow.go)
//	lic.wc=off                  the volume's LUN is write through (StorageClass
//	                            writeCache: off); absent: tgt's write cache on
const (
	tagPrefix   = "lic."
	tagOwner    = "lic.v1"
	tagName     = "lic.name="
	tagProv     = "lic.prov="
	tagPub      = "lic.pub="
	tagState    = "lic.state="
	stateDelete = "deleting"
	stateCreate = "creating"
	tagKind     = "lic.kind="
	kindSnap    = "snapshot"
	kindScratch = "scratch"
	tagSrc      = "lic.src="
	tagTime     = "lic.time="
	tagSize     = "lic.size="
	tagGrow     = "lic.grow="
	tagWCOff    = "lic.wc=off"
)

var b64 = base64.RawURLEncoding

// volumeTags are the tags a new volume is created with.
func volumeTags(name string, prov Provisioning) []string {
	return []string{tagOwner, tagName + b64.EncodeToString([]byte(name)), tagProv + string(prov)}
}

// requestTags are the tags a volume made for req starts with: volumeTags
// and, for a volume whose write cache is off, tagWCOff (absent means on,
// so volumes made before the parameter keep tgt's default).
func requestTags(req CreateRequest) []string {
	tags := volumeTags(req.Name, req.Provisioning)
	if req.WriteCacheOff {
		tags = append(tags, tagWCOff)
	}
	return tags
}

// pubTag records a publication. '.' is outside the base64url alphabet, so
// it separates the node id from its initiator unambiguously.
func pubTag(n Node) string {
	return tagPub + b64.EncodeToString([]byte(n.ID)) + "." + b64.EncodeToString([]byte(n.Initiator))
}

func parsePub(v string) (Node, bool) {
	id, initiator, ok := strings.Cut(v, ".")
	if !ok {
		return Node{}, false
	}
	rawID, err1 := b64.DecodeString(id)
	rawInit, err2 := b64.DecodeString(initiator)
	if err1 != nil || err2 != nil || len(rawID) == 0 || len(rawInit) == 0 {
		return Node{}, false
	}
	return Node{ID: string(rawID), Initiator: string(rawInit)}, true
}

// tagInfo is what the tags of one LV say.
type tagInfo struct {
	ours      bool
	name      string
	prov      Provisioning
	nodes     []Node
	deleting  bool
	creating  bool
	kind      string // "" for volumes
	src       string
	time      int64
	size      uint64
	growing   bool   // a lic.grow tag: the space past growFrom is not zeroed
	growFrom  uint64 // the size before the growth
	wcOff     bool   // lic.wc=off: the LUN is write through
	malformed []string
}

func parseTags(tags []string) tagInfo {
	var info tagInfo
	for _, t := range tags {
		if !strings.HasPrefix(t, tagPrefix) {
			continue
		}
		switch {
		case t == tagOwner:
			info.ours = true
		case strings.HasPrefix(t, tagName):
			if v, err := b64.DecodeString(t[len(tagName):]); err == nil {
				info.name = string(v)
			} else {
				info.malformed = append(info.malformed, t)
			}
		case strings.HasPrefix(t, tagProv):
			info.prov = Provisioning(t[len(tagProv):])
		case strings.HasPrefix(t, tagPub):
			if n, ok := parsePub(t[len(tagPub):]); ok {
				info.nodes = append(info.nodes, n)
			} else {
				info.malformed = append(info.malformed, t)
			}
		case t == tagState+stateDelete:
			info.deleting = true
		case t == tagState+stateCreate:
			info.creating = true
		case t == tagWCOff:
			info.wcOff = true
		case strings.HasPrefix(t, tagKind):
			info.kind = t[len(tagKind):]
		case strings.HasPrefix(t, tagSrc):
			info.src = t[len(tagSrc):]
		case strings.HasPrefix(t, tagSize):
			if n, err := strconv.ParseUint(t[len(tagSize):], 10, 64); err == nil {
				info.size = n
			} else {
				info.malformed = append(info.malformed, t)
			}
		case strings.HasPrefix(t, tagGrow):
			// Unreadable, it still marks unzeroed space: zero from 0.
			n, err := strconv.ParseUint(t[len(tagGrow):], 10, 64)
			if err != nil {
				info.malformed = append(info.malformed, t)
			}
			if !info.growing || n < info.growFrom {
				info.growFrom = n
			}
			info.growing = true
		case strings.HasPrefix(t, tagTime):
			if n, err := strconv.ParseInt(t[len(tagTime):], 10, 64); err == nil {
				info.time = n
			} else {
				info.malformed = append(info.malformed, t)
			}
		}
	}
	slices.SortFunc(info.nodes, func(a, b Node) int { return strings.Compare(a.ID, b.ID) })
	return info
}

func (t tagInfo) String() string {
	return fmt.Sprintf("name=%q prov=%s nodes=%v deleting=%v", t.name, t.prov, t.nodes, t.deleting)
}

// growTag marks a thick volume grown past size whose new space is not
// zeroed yet.
func growTag(size uint64) string { return tagGrow + strconv.FormatUint(size, 10) }

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}
