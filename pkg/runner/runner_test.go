package runner

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner/runnertest"
)

func TestRunReturnsStdout(t *testing.T) {
	fake := runnertest.NewFake(t, runnertest.Call{Argv: runnertest.Argv("lvs --reportformat json"), Stdout: "{}"})
	out, err := New(fake, 0).Run(context.Background(), "lvs", "--reportformat", "json")
	if err != nil || string(out) != "{}" {
		t.Fatalf("Run = %q, %v", out, err)
	}
}

func TestRunKeepsExitCodeAndStderr(t *testing.T) {
	fake := runnertest.NewFake(t, runnertest.Call{Argv: runnertest.Argv("tgtadm --op show"), Stderr: "tgtadm: can't find the target\n", ExitCode: 22})
	_, err := New(fake, 0).Run(context.Background(), "tgtadm", "--op", "show")
	var exitErr *ExitError
	if !errors.As(err, &exitErr) {
		t.Fatalf("err = %v, want *ExitError", err)
	}
	if exitErr.ExitCode != 22 || ExitCode(err) != 22 {
		t.Errorf("exit code = %d, want 22", exitErr.ExitCode)
	}
	if !strings.Contains(Stderr(err), "can't find the target") {
		t.Errorf("stderr = %q", Stderr(err))
	}
	if !strings.Contains(err.Error(), "tgtadm --op show") {
		t.Errorf("error %q does not name the command", err)
	}
}

func TestRunSecretMasksSecretsEverywhere(t *testing.T) {
	const secret = "s3cr3tPassw0rd"
	fake := runnertest.NewFake(t, runnertest.Call{
		Argv:     []string{"tgtadm", "--op", "new", "--mode", "account", "--user", "u", "--password", secret},
		Stderr:   "bad password " + secret,
		ExitCode: 22,
	})
	_, err := New(fake, 0).RunSecret(context.Background(), []string{secret}, "tgtadm", "--op", "new", "--mode", "account", "--user", "u", "--password", secret)
	if err == nil {
		t.Fatal("expected an error")
	}
	if strings.Contains(err.Error(), secret) || strings.Contains(Stderr(err), secret) {
		t.Errorf("secret leaked: %q / %q", err, Stderr(err))
	}
	if !strings.Contains(err.Error(), Masked) {
		t.Errorf("error %q does not show the mask", err)
	}
}

func TestCommandEnvForcesCLocale(t *testing.T) {
	t.Setenv("LC_ALL", "de_DE.UTF-8")
	t.Setenv("LANG", "de_DE.UTF-8")
	env := commandEnv()
	seen := map[string]int{}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		seen[k]++
		if (k == "LC_ALL" || k == "LANG") && kv != k+"=C" {
			t.Errorf("env has %q", kv)
		}
	}
	if seen["LC_ALL"] != 1 || seen["LANG"] != 1 {
		t.Errorf("locale variables appear %v times", seen)
	}
}
