package pool

import (
	"errors"
	"slices"
	"testing"
)

// Publish reads tgtd's targets only (tgtread.go). A crash between tgtadm's
// "new account" and "bind account" leaves an account bound nowhere, which
// that reading does not show: the retry creates it again, takes tgtd's
// "exists" as done, binds it, and the node's credentials log in.
func TestPublishRetryBindsAnAccountLeftUnbound(t *testing.T) {
	e := newEnv(t, true)
	v := e.create(t, "pvc-1", 64*mib, Thin)
	e.tgt.FailNext("BindAccount", errors.New("tgtd: killed"))
	if _, err := e.pool.Publish(e.ctx, v.ID, nodeA, false); err == nil {
		t.Fatal("Publish succeeded although binding the account failed")
	}
	accounts, err := e.tgt.ListAccounts(e.ctx)
	if err != nil || len(accounts) != 1 {
		t.Fatalf("after the interrupted publish tgtd has accounts %v (%v), want the one left unbound", accounts, err)
	}
	if tg := e.target(t, v.ID); tg == nil || len(tg.Accounts) != 0 {
		t.Fatalf("the interrupted publish's target = %+v, want it without a bound account", tg)
	}
	exp, err := e.pool.Publish(e.ctx, v.ID, nodeA, false)
	if err != nil {
		t.Fatalf("the retry = %v", err)
	}
	tg := e.target(t, v.ID)
	if tg == nil || !slices.Equal(tg.Accounts, accounts) || !slices.Equal(tg.InitiatorNames, []string{nodeA.Initiator}) {
		t.Fatalf("after the retry the target = %+v, want account %v and initiator %s bound", tg, accounts, nodeA.Initiator)
	}
	if err := e.login(t, v.ID, nodeA, exp.CHAP); err != nil {
		t.Fatalf("the node cannot log in with the credentials handed out: %v", err)
	}
}
