package publish

import (
	"errors"
	"strings"
	"testing"
)

func mustKey(t *testing.T) *NodeKey {
	t.Helper()
	k, err := GenerateNodeKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealedCredentialsOpenOnlyWithTheNodesKey(t *testing.T) {
	node, other := mustKey(t), mustKey(t)
	const vol = "csi-0123456789abcdef0123456789ab"
	creds := Credentials{User: vol + ".0a1b2c3d.0123456789abcdef", Password: "Xk3pQw9sTz7mNb2c"}
	sealed, err := SealCredentials(&node.Public, vol, creds)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, creds.Password) || strings.Contains(sealed, creds.User) {
		t.Fatal("the sealed value shows the credentials")
	}
	got, err := node.OpenCredentials(vol, sealed)
	if err != nil || got != creds {
		t.Fatalf("OpenCredentials = %+v, %v", got, err)
	}
	if _, err := other.OpenCredentials(vol, sealed); !errors.Is(err, ErrNotForThisKey) {
		t.Fatalf("another node's key opened it: %v", err)
	}
	if _, err := node.OpenCredentials("csi-ffffffffffffffffffffffffffff", sealed); !errors.Is(err, ErrOtherVolume) {
		t.Fatalf("opened for another volume: %v", err)
	}
	// Any change is detected (Poly1305).
	flipped := []byte(sealed)
	if flipped[60] == 'A' {
		flipped[60] = 'B'
	} else {
		flipped[60] = 'A'
	}
	if _, err := node.OpenCredentials(vol, string(flipped)); err == nil {
		t.Fatal("an altered value opened")
	}
	for _, bad := range []string{"", "not base64!", "AAAA"} {
		if _, err := node.OpenCredentials(vol, bad); !errors.Is(err, ErrMalformedSealed) {
			t.Errorf("OpenCredentials(%q) = %v, want ErrMalformedSealed", bad, err)
		}
	}
	// Two seals of the same credentials differ (an ephemeral key each).
	again, _ := SealCredentials(&node.Public, vol, creds)
	if again == sealed {
		t.Error("sealing twice gave the same value")
	}
}

func TestNodeKeyEncoding(t *testing.T) {
	k := mustKey(t)
	s := EncodePublicKey(&k.Public)
	if len(s) != KeyLength {
		t.Fatalf("encoded key %q is %d characters, want %d", s, len(s), KeyLength)
	}
	pub, ok := DecodePublicKey(s)
	if !ok || *pub != k.Public {
		t.Fatalf("DecodePublicKey(%q) = %v, %v", s, pub, ok)
	}
	for _, bad := range []string{"", s[:42], s + "A", strings.Replace(s, s[:1], "+", 1), "iqn.1993-08.org.debian:01:aaaa"} {
		if _, ok := DecodePublicKey(bad); ok {
			t.Errorf("DecodePublicKey(%q) accepted", bad)
		}
	}
	again, err := NodeKeyFromPrivate(k.Private[:])
	if err != nil || again.Public != k.Public {
		t.Fatalf("NodeKeyFromPrivate = %v, %v", again, err)
	}
	if _, err := NodeKeyFromPrivate(make([]byte, 31)); err == nil {
		t.Fatal("a short private key was accepted")
	}
}

func TestNodeName(t *testing.T) {
	for id, want := range map[string]string{
		"node-a/iqn.1993-08.org.debian:01:aaaa":                            "node-a",
		"node-a/iqn.1993-08.org.debian:01:aaaa/" + strings.Repeat("A", 43): "node-a",
		"node-a": "node-a",
	} {
		if got := NodeName(id); got != want {
			t.Errorf("NodeName(%q) = %q, want %q", id, got, want)
		}
	}
}
