package pool

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"k8s.io/klog/v2"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/publish"
)

// CHAP credentials are derived, never stored: HKDF-SHA256 of the CHAP key
// (chapkey.go) over the volume id, the node it is published to (its name
// and initiator name: not its key, which only seals them, so a node whose
// key changed keeps the credentials its sessions log in again with) and
// the volume's credential generation. So
//
//   - each publication has its own account: a node that is unpublished
//     loses its account, and what it remembers does not let it in under
//     another node's initiator name (initiator names are public: CSINode);
//   - the controller can rebuild every account tgtd needs after tgtd, the
//     controller or its --state-dir are gone, from the LV tags and the key;
//   - the account's user name carries a fingerprint of the key and of its
//     password's inputs: tgtd cannot show a password, but it shows user
//     names, so an account of the right name always holds the right
//     password, and new credentials always come under a new name, bound
//     before the old one goes (no moment without CHAP on the target).
//
// User names are <volume id>.<key id>.<fingerprint> (58 characters);
// 0.1's were the bare volume id.

// Tags of the credential generation. A rotation (tagRotate, set by an
// administrator: docs/security.md) moves the volume to the next generation;
// generations attached nodes may still hold stay valid (tagCHAPOld) until
// the volume is unpublished from every node.
//
//	lic.chap=<n>      the generation new publications get (absent: 0)
//	lic.chapold=<n>   an older generation still honoured (one tag each)
//	lic.rotate        an administrator's request for a new generation
const (
	tagCHAPGen = "lic.chap="
	tagCHAPOld = "lic.chapold="
	tagRotate  = "lic.rotate"
)

const (
	keyIDBytes       = 4
	fingerprintBytes = 8
	passwordLength   = 16
)

// keyID names a key without revealing it (8 hex digits).
func keyID(key []byte) string {
	id, err := hkdf.Key(sha256.New, key, nil, "lvm-iscsi-csi key id v1", keyIDBytes)
	if err != nil {
		panic(err) // only for lengths HKDF cannot give
	}
	return hex.EncodeToString(id)
}

// deriveCHAP returns node's credentials for volume id at generation gen.
func deriveCHAP(key []byte, id string, node Node, gen uint64) CHAP {
	subject := publish.NodeName(node.ID) + "/" + node.Initiator
	inputs := id + "\x00" + subject + "\x00" + strconv.FormatUint(gen, 10)
	fp, err := hkdf.Key(sha256.New, key, nil, "lvm-iscsi-csi chap user v1\x00"+inputs, fingerprintBytes)
	if err != nil {
		panic(err)
	}
	return CHAP{
		User:     id + "." + keyID(key) + "." + hex.EncodeToString(fp),
		Password: derivedSecret(key, "lvm-iscsi-csi chap password v1\x00"+inputs),
	}
}

// derivedSecret draws passwordLength characters of secretAlphabet from
// HKDF output, rejecting bytes past the last whole multiple of the
// alphabet so every character is equally likely (~93 bits).
func derivedSecret(key []byte, info string) string {
	limit := byte(256 - 256%len(secretAlphabet))
	out := make([]byte, 0, passwordLength)
	for round := 0; len(out) < passwordLength; round++ {
		buf, err := hkdf.Key(sha256.New, key, nil, info+"\x00"+strconv.Itoa(round), 32)
		if err != nil {
			panic(err)
		}
		for _, c := range buf {
			if c < limit && len(out) < passwordLength {
				out = append(out, secretAlphabet[int(c)%len(secretAlphabet)])
			}
		}
	}
	return string(out)
}

// secretAlphabet avoids characters that need quoting anywhere a password
// goes (iscsiadm and tgtadm argv, node records).
const secretAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"

// accountOf parses a tgtd account name of ours: the volume it is for and
// the key id it was derived with ("" for 0.1's bare volume id).
func accountOf(user string) (id, key string, ok bool) {
	if ValidVolumeID(user) {
		return user, "", true
	}
	parts := strings.Split(user, ".")
	if len(parts) != 3 || !ValidVolumeID(parts[0]) || !isHex(parts[1], 2*keyIDBytes) || !isHex(parts[2], 2*fingerprintBytes) {
		return "", "", false
	}
	return parts[0], parts[1], true
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

// chapTags is what a volume's tags say about its credentials.
type chapTags struct {
	gen    uint64
	old    []uint64
	rotate bool
	raw    []string // the tags themselves, to delete them
}

func parseCHAPTags(tags []string) chapTags {
	var c chapTags
	for _, t := range tags {
		switch {
		case t == tagRotate:
			c.rotate = true
			c.raw = append(c.raw, t)
		case strings.HasPrefix(t, tagCHAPGen):
			if n, err := strconv.ParseUint(t[len(tagCHAPGen):], 10, 64); err == nil {
				c.gen = max(c.gen, n)
			}
			c.raw = append(c.raw, t)
		case strings.HasPrefix(t, tagCHAPOld):
			if n, err := strconv.ParseUint(t[len(tagCHAPOld):], 10, 64); err == nil {
				c.old = append(c.old, n)
			}
			c.raw = append(c.raw, t)
		}
	}
	return c
}

// generations are those whose credentials tgtd must accept.
func (c chapTags) generations() []uint64 {
	gens := append([]uint64{c.gen}, c.old...)
	slices.Sort(gens)
	return slices.Compact(gens)
}

// settleCHAPTags carries out a pending rotation, and forgets old
// generations once the volume is published nowhere (no node can hold
// them then). published says whether any node is published before the
// caller's change. lv.Tags is updated to what was written.
func (p *Pool) settleCHAPTags(ctx context.Context, lv *lvm.LV, published bool) error {
	c := parseCHAPTags(lv.Tags)
	if !c.rotate && (published || len(c.old) == 0) {
		return nil
	}
	want := []string{}
	gen := c.gen
	if c.rotate {
		gen++
	}
	if gen > 0 {
		want = append(want, tagCHAPGen+strconv.FormatUint(gen, 10))
	}
	if published {
		for _, g := range c.generations() {
			if g < gen {
				want = append(want, tagCHAPOld+strconv.FormatUint(g, 10))
			}
		}
	}
	var add, del []string
	for _, t := range want {
		if !slices.Contains(lv.Tags, t) {
			add = append(add, t)
		}
	}
	for _, t := range c.raw {
		if !slices.Contains(want, t) {
			del = append(del, t)
		}
	}
	if len(add)+len(del) == 0 {
		return nil
	}
	if err := p.lvm.ChangeTags(ctx, p.cfg.VolumeGroup, lv.Name, add, del); err != nil {
		return fmt.Errorf("recording the CHAP generation of %s: %w", lv.Name, err)
	}
	if c.rotate {
		klog.InfoS("Rotated the CHAP credentials of a volume; attached nodes keep the old ones until it is detached everywhere",
			"volumeID", lv.Name, "generation", gen)
	}
	lv.Tags = slices.DeleteFunc(slices.Clone(lv.Tags), func(t string) bool { return slices.Contains(del, t) })
	lv.Tags = append(lv.Tags, add...)
	return nil
}

// credentials are what Publish hands node for volume lv.
func (p *Pool) credentials(ctx context.Context, lv *lvm.LV, node Node) (*CHAP, error) {
	key, err := p.chapKey(ctx)
	if err != nil {
		return nil, err
	}
	c := deriveCHAP(key, lv.Name, node, parseCHAPTags(lv.Tags).gen)
	return &c, nil
}

// sameNode reports whether two node ids name the same node.
func sameNode(a, b string) bool { return publish.NodeName(a) == publish.NodeName(b) }
