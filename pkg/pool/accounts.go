package pool

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"k8s.io/klog/v2"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt"
)

// syncAccounts makes the CHAP accounts bound to a published volume's
// target those of its publications (chapcreds.go): one per node and
// credential generation still honoured, plus 0.1's account while its
// credentials file is there. New ones are created and bound before old
// ones go, so the target never has no account (tgtd would then let in
// any initiator the ACL names, without CHAP). Callers hold tgtMu.
//
// Accounts of the volume made with another key (the key LV was lost or
// replaced) or by 0.1 cannot be made again, their passwords being
// unknown, but attached nodes may still hold them: they are left as they
// are while the volume stays published, and go with its last
// unpublication. With CHAP off, every account of the volume goes.
func (p *Pool) syncAccounts(ctx context.Context, st *tgtState, t *tgt.Target, lv *lvm.LV, nodes []Node) error {
	id := lv.Name
	want := map[string]string{}
	current := ""
	if p.cfg.CHAP {
		key, err := p.chapKey(ctx)
		if err != nil {
			return err
		}
		current = keyID(key)
		gens := parseCHAPTags(lv.Tags).generations()
		for _, n := range nodes {
			for _, g := range gens {
				c := deriveCHAP(key, id, n, g)
				want[c.User] = c.Password
			}
		}
		legacy, ok, err := p.secrets.Legacy(id)
		if err != nil {
			return err
		}
		if ok {
			want[legacy.User] = legacy.Password
		}
	}
	for _, user := range slices.Sorted(maps.Keys(want)) {
		if !st.accounts[user] {
			if err := p.tgt.CreateAccount(ctx, user, want[user]); err != nil && !errors.Is(err, tgt.ErrExists) {
				return fmt.Errorf("creating a CHAP account of %s: %w", id, err)
			}
			st.accounts[user] = true
		}
		if !slices.Contains(t.Accounts, user) {
			if err := p.tgt.BindAccount(ctx, t.TID, user); err != nil && !errors.Is(err, tgt.ErrExists) {
				return fmt.Errorf("binding a CHAP account of %s: %w", id, err)
			}
			t.Accounts = append(t.Accounts, user)
		}
	}
	for _, user := range accountsOf(st, id) {
		if _, ok := want[user]; ok {
			continue
		}
		if _, k, _ := accountOf(user); p.cfg.CHAP && k != current {
			klog.V(2).InfoS("Keeping a CHAP account that cannot be made again while its volume is published", "volumeID", id, "account", user)
			continue
		}
		if err := p.deleteAccount(ctx, st, user); err != nil {
			return err
		}
	}
	return nil
}

// removeAccounts deletes every CHAP account of a volume published nowhere,
// and 0.1's credentials file, which no node can need any more.
func (p *Pool) removeAccounts(ctx context.Context, st *tgtState, id string) error {
	for _, user := range accountsOf(st, id) {
		if err := p.deleteAccount(ctx, st, user); err != nil {
			return err
		}
	}
	if err := p.secrets.Delete(id); err != nil {
		return fmt.Errorf("forgetting the 0.1 CHAP credentials of %s: %w", id, err)
	}
	return nil
}

// deleteAccount deletes one account; tgtd unbinds it from every target.
func (p *Pool) deleteAccount(ctx context.Context, st *tgtState, user string) error {
	if err := p.tgt.DeleteAccount(ctx, user); err != nil && !errors.Is(err, tgt.ErrNotFound) {
		return fmt.Errorf("deleting CHAP account %s: %w", user, err)
	}
	delete(st.accounts, user)
	for i := range st.targets {
		st.targets[i].Accounts = slices.DeleteFunc(st.targets[i].Accounts, func(u string) bool { return u == user })
	}
	return nil
}

// accountsOf lists tgtd's accounts of volume id, in order.
func accountsOf(st *tgtState, id string) []string {
	var out []string
	for user := range st.accounts {
		// The cheap test first: called once per volume in a reconcile
		// pass, parsing every account here made the pass quadratic.
		if user != id && !strings.HasPrefix(user, id+".") {
			continue
		}
		if v, _, ok := accountOf(user); ok && v == id {
			out = append(out, user)
		}
	}
	slices.Sort(out)
	return out
}

// boundOnly keeps the nodes whose initiators the target already admits:
// what syncACL may be given when a volume's accounts could not be made,
// so that it still fences the others but lets no one new in.
func boundOnly(t *tgt.Target, nodes []Node) []Node {
	return slices.DeleteFunc(slices.Clone(nodes), func(n Node) bool { return !slices.Contains(t.InitiatorNames, n.Initiator) })
}
