package pool

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/lvm/lvmfake"
	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/tgt/tgtfake"
)

const keyDevPath = "/dev/" + testVG + "/" + keyLVName

// The key is created at the first publication, in an LV of the VG marked
// as the driver's key, and nowhere else: not in a tag, not in the state
// directory. It is no volume: not listed, not reconciled, not deletable
// through the CSI API.
func TestCHAPKeyLivesInAnLVOfTheVolumeGroup(t *testing.T) {
	e := newEnv(t, true)
	v := e.create(t, "pvc-1", 64*mib, Thin)
	if _, err := e.lvm.GetLV(e.ctx, testVG, keyLVName); err == nil {
		t.Fatal("the key LV exists before anything was published")
	}
	exp, err := e.pool.Publish(e.ctx, v.ID, nodeA, false)
	if err != nil {
		t.Fatal(err)
	}
	lv, err := e.lvm.GetLV(e.ctx, testVG, keyLVName)
	if err != nil {
		t.Fatalf("no key LV after the first publish: %v", err)
	}
	if info := parseTags(lv.Tags); !info.ours || info.kind != kindKey || info.creating {
		t.Fatalf("key LV tags %v", lv.Tags)
	}
	if lv.IsThinVolume() || lv.Size != 4*mib {
		t.Errorf("key LV is %s of %d bytes, want one thick extent", lv.Attr, lv.Size)
	}
	block, _ := e.keyDev.ReadKey(keyDevPath)
	key, ok := parseKeyBlock(block)
	if !ok {
		t.Fatal("the key LV holds no valid key block")
	}
	if c := deriveCHAP(key, v.ID, nodeA, 0); c != *exp.CHAP {
		t.Fatal("the credentials handed out are not the ones derived from the key LV's key")
	}
	lvs, _ := e.lvm.ListLVs(e.ctx, testVG)
	for _, l := range lvs {
		for _, tag := range l.Tags {
			if strings.Contains(tag, exp.CHAP.Password) || strings.Contains(tag, hex.EncodeToString(key)) {
				t.Errorf("LV %s has a tag with a secret: %s", l.Name, tag)
			}
		}
	}
	if entries, _ := os.ReadDir(e.stateDir); len(entries) != 0 {
		t.Errorf("secrets written to the state directory: %v", entries)
	}
	vols, _ := e.pool.List(e.ctx)
	if len(vols) != 1 {
		t.Errorf("List shows %d volumes, want 1 (the key LV is no volume)", len(vols))
	}
	if err := e.pool.Delete(e.ctx, keyLVName); err != nil {
		t.Fatal(err)
	}
	if err := e.pool.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.lvm.GetLV(e.ctx, testVG, keyLVName); err != nil {
		t.Fatalf("the key LV went away: %v", err)
	}
	if again, _ := e.keyDev.ReadKey(keyDevPath); string(again) != string(block) {
		t.Fatal("the key changed without being asked to")
	}
}

// When the thin pool took every extent of the VG, the key LV is thin.
func TestCHAPKeyLVIsThinWhenTheVGIsFull(t *testing.T) {
	l := lvmfake.New(testVG, 1*gib, 4*mib)
	if err := l.AddThinPool(testPool, 1*gib-8*mib); err != nil {
		t.Fatal(err)
	}
	if vg, _ := l.GetVG(t.Context(), testVG); vg.Free != 0 {
		t.Fatalf("VG has %d bytes free, want 0", vg.Free)
	}
	secrets, _ := NewFileSecretsOn(t.TempDir(), NewMemoryKeyDevice())
	p, err := New(Config{VolumeGroup: testVG, ThinPool: testPool, Portal: "192.0.2.10:3260", IQNPrefix: testPrefix, CHAP: true},
		l, tgtfake.New(), secrets, &recordingWiper{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := p.Create(t.Context(), CreateRequest{Name: "pvc-1", RequiredSize: 8 * mib, Provisioning: Thin})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Publish(t.Context(), v.ID, nodeA, false); err != nil {
		t.Fatal(err)
	}
	lv, err := l.GetLV(t.Context(), testVG, keyLVName)
	if err != nil || !lv.IsThinVolume() {
		t.Fatalf("key LV = %+v, %v; want a thin LV", lv, err)
	}
}

// A key LV whose content is not a key is an error to report, not a reason
// to make a new key (that would change every credential at once). Fencing
// still works without it.
func TestUnreadableKeyIsReportedNotReplaced(t *testing.T) {
	e := newEnv(t, false)
	v := e.create(t, "pvc-1", 8*mib, Thick)
	if _, err := e.pool.Publish(e.ctx, v.ID, nodeA, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Publish(e.ctx, v.ID, nodeB, true); err != nil {
		t.Fatal(err)
	}
	corrupt := make([]byte, KeyBlockSize)
	copy(corrupt, "something else entirely")
	e.keyDev.WriteKey(keyDevPath, corrupt)
	e.restartPool(t)

	_, err := e.pool.Publish(e.ctx, v.ID, nodeA, true)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "lvchange --addtag lic.state=creating") {
		t.Fatalf("Publish with a corrupt key = %v, want ErrUnavailable saying how to replace the key", err)
	}
	if block, _ := e.keyDev.ReadKey(keyDevPath); string(block) != string(corrupt) {
		t.Fatal("the corrupt key was overwritten")
	}
	accounts, _ := e.tgt.ListAccounts(e.ctx)
	if len(accounts) != 2 {
		t.Fatalf("accounts %v: the two publications' accounts must stay while the key cannot be read", accounts)
	}
	// Unpublishing B fails (its accounts cannot be sorted out) but B is
	// fenced all the same.
	if err := e.pool.Unpublish(e.ctx, v.ID, nodeB.ID); err == nil {
		t.Fatal("Unpublish reported success without the key")
	}
	tg := e.target(t, v.ID)
	if slices.Contains(tg.InitiatorNames, nodeB.Initiator) || !slices.Contains(tg.InitiatorNames, nodeA.Initiator) {
		t.Fatalf("ACL %v: node B must be fenced and A kept", tg.InitiatorNames)
	}
}

// An administrator replaces the key by marking its LV "creating" (the
// state a cut-short creation leaves): the next reconcile writes a new key
// in place. Attached nodes keep their accounts while tgtd runs; new
// publications get credentials from the new key.
func TestKeyMarkedCreatingIsReplaced(t *testing.T) {
	e := newEnv(t, false)
	v := e.create(t, "pvc-1", 8*mib, Thick)
	old, err := e.pool.Publish(e.ctx, v.ID, nodeA, false)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := e.keyDev.ReadKey(keyDevPath)
	if err := e.lvm.ChangeTags(e.ctx, testVG, keyLVName, []string{tagState + stateCreate}, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.pool.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	after, _ := e.keyDev.ReadKey(keyDevPath)
	if _, ok := parseKeyBlock(after); !ok || string(after) == string(before) {
		t.Fatal("no new key was written")
	}
	if lv, _ := e.lvm.GetLV(e.ctx, testVG, keyLVName); slices.Contains(lv.Tags, tagState+stateCreate) {
		t.Fatal("the key LV is still marked creating")
	}
	fresh, err := e.pool.Publish(e.ctx, v.ID, nodeA, false)
	if err != nil {
		t.Fatal(err)
	}
	if fresh.CHAP.User == old.CHAP.User || fresh.CHAP.Password == old.CHAP.Password {
		t.Fatal("the new key gave the old credentials")
	}
	for what, c := range map[string]*CHAP{"old": old.CHAP, "new": fresh.CHAP} {
		if err := e.login(t, v.ID, nodeA, c); err != nil {
			t.Errorf("the %s credentials are refused while the volume stays attached: %v", what, err)
		}
	}
	// Detached: only the new key's accounts come back.
	if err := e.pool.Unpublish(e.ctx, v.ID, nodeA.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Publish(e.ctx, v.ID, nodeA, false); err != nil {
		t.Fatal(err)
	}
	if err := e.login(t, v.ID, nodeA, old.CHAP); err == nil {
		t.Error("the old key's credentials still work after a detach")
	}
}

// Volumes published by 0.1 carry its random credentials in their
// VolumeAttachments; tgtd keeps honouring them (rebuilt from 0.1's file
// after a tgtd restart) until the volume is unpublished everywhere.
func TestLegacyCredentialsAreHonouredUntilUnpublished(t *testing.T) {
	e := newEnv(t, false)
	v := e.create(t, "pvc-1", 8*mib, Thick)
	legacy := CHAP{User: v.ID, Password: "Abcdefgh23456789"}
	old := Node{ID: "node-a/" + nodeA.Initiator, Initiator: nodeA.Initiator} // 0.1's node id
	if err := os.MkdirAll(e.stateDir, 0o700); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(legacy)
	if err := os.WriteFile(filepath.Join(e.stateDir, v.ID+".json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := e.lvm.ChangeTags(e.ctx, testVG, v.ID, []string{pubTag(old)}, nil); err != nil {
		t.Fatal(err)
	}
	e.tgt.Restart()
	if err := e.pool.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.login(t, v.ID, nodeA, &legacy); err != nil {
		t.Fatalf("0.1's credentials are refused: %v", err)
	}
	// The node comes back with its new id (with a key): it replaces the
	// old publication, and 0.1's credentials stay valid meanwhile.
	exp, err := e.pool.Publish(e.ctx, v.ID, nodeA, false)
	if err != nil {
		t.Fatal(err)
	}
	for what, c := range map[string]*CHAP{"0.1's": &legacy, "new": exp.CHAP} {
		if err := e.login(t, v.ID, nodeA, c); err != nil {
			t.Errorf("%s credentials refused: %v", what, err)
		}
	}
	if err := e.pool.Unpublish(e.ctx, v.ID, nodeA.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(e.stateDir, v.ID+".json")); !os.IsNotExist(err) {
		t.Fatalf("0.1's credentials file kept after the last unpublish: %v", err)
	}
	if _, err := e.pool.Publish(e.ctx, v.ID, nodeA, false); err != nil {
		t.Fatal(err)
	}
	if err := e.login(t, v.ID, nodeA, &legacy); err == nil {
		t.Fatal("0.1's credentials still work after the volume was unpublished everywhere")
	}
}

func TestDerivedCredentials(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	id := VolumeID("v")
	c := deriveCHAP(key, id, nodeA, 0)
	if c != deriveCHAP(key, id, nodeA, 0) {
		t.Fatal("derivation is not deterministic")
	}
	if len(c.Password) != passwordLength || strings.Trim(c.Password, secretAlphabet) != "" {
		t.Fatalf("password %q: want %d characters of the alphabet", c.Password, passwordLength)
	}
	if v, k, ok := accountOf(c.User); !ok || v != id || k != keyID(key) || len(c.User) > 64 {
		t.Fatalf("user %q parses as %q %q %v", c.User, v, k, ok)
	}
	others := map[string]CHAP{
		"another node":       deriveCHAP(key, id, nodeB, 0),
		"another generation": deriveCHAP(key, id, nodeA, 1),
		"another volume":     deriveCHAP(key, VolumeID("w"), nodeA, 0),
		"another key":        deriveCHAP([]byte("fedcba9876543210fedcba9876543210"), id, nodeA, 0),
		"another initiator":  deriveCHAP(key, id, Node{ID: nodeA.ID, Initiator: "iqn.1993-08.org.debian:01:reinstalled"}, 0),
	}
	for what, o := range others {
		if o.User == c.User || o.Password == c.Password {
			t.Errorf("%s gives the same user name or password", what)
		}
	}
	// The node's key only seals the credentials: a new one changes nothing.
	if rekeyed := deriveCHAP(key, id, Node{ID: nodeA.ID + "/AAAA", Initiator: nodeA.Initiator}, 0); rekeyed != c {
		t.Error("the same node with a new key gets other credentials")
	}
	for _, user := range []string{id, id + "." + keyID(key) + "." + "0123456789abcdef"} {
		if v, _, ok := accountOf(user); !ok || v != id {
			t.Errorf("accountOf(%q) = %q, %v", user, v, ok)
		}
	}
	for _, user := range []string{"", "someone", id + ".x.y", id + "." + keyID(key) + ".0123456789ABCDEF", "csi-1.00000000.0123456789abcdef"} {
		if _, _, ok := accountOf(user); ok {
			t.Errorf("accountOf(%q) took it for ours", user)
		}
	}
}
