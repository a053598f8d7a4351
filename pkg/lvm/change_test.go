package lvm

import (
	"context"
	"errors"
	"testing"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/runner/runnertest"
)

func TestExtendLV(t *testing.T) {
	for _, tc := range []struct {
		recording, argv string
		size            uint64
		want            error
	}{
		{"lvextend-thick", "lvextend -L 33554432b csivg/foreign", 32 * mib, nil},
		{"lvextend-thin", "lvextend -L 268435456b csivg/thin1", 256 * mib, nil},
		// Already that big, or bigger: nothing to do.
		{"lvextend-same", "lvextend -L 33554432b csivg/foreign", 32 * mib, nil},
		{"lvextend-smaller", "lvextend -L 16777216b csivg/foreign", 16 * mib, nil},
		{"lvextend-nospace", "lvextend -L 10737418240b csivg/foreign", 10 << 30, ErrNoSpace},
		{"lvextend-missing", "lvextend -L 33554432b csivg/nosuch", 32 * mib, ErrNotFound},
		{"lvextend-origin", "lvextend -L 134217728b csivg/thick1", 128 * mib, ErrHasDependents},
	} {
		argv := runnertest.Argv(tc.argv)
		l := newTestLVM(t, recorded(t, tc.recording, argv...))
		err := l.ExtendLV(context.Background(), "csivg", argv[len(argv)-1][len("csivg/"):], tc.size)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: ExtendLV = %v, want %v", tc.recording, err, tc.want)
		}
	}
}

func TestChangeTags(t *testing.T) {
	argv := runnertest.Argv("lvchange --addtag csi.published=node-1 --deltag lvm-iscsi-csi csivg/thick1")
	// Adding a tag the LV has and deleting one it lacks succeeds too.
	for _, recording := range []string{"lvchange-tags", "lvchange-tags-again"} {
		l := newTestLVM(t, recorded(t, recording, argv...))
		if err := l.ChangeTags(context.Background(), "csivg", "thick1", []string{"csi.published=node-1"}, []string{"lvm-iscsi-csi"}); err != nil {
			t.Errorf("%s: ChangeTags = %v", recording, err)
		}
	}
}

func TestChangeTagsMissing(t *testing.T) {
	l := newTestLVM(t, recorded(t, "lvchange-tags-missing", runnertest.Argv("lvchange --addtag x csivg/nosuch")...))
	if err := l.ChangeTags(context.Background(), "csivg", "nosuch", []string{"x"}, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("ChangeTags(missing) = %v, want ErrNotFound", err)
	}
}

func TestChangeTagsWithoutCommand(t *testing.T) {
	l := newTestLVM(t) // neither case may run lvchange
	if err := l.ChangeTags(context.Background(), "csivg", "thick1", nil, nil); err != nil {
		t.Errorf("ChangeTags(nothing) = %v", err)
	}
	if err := l.ChangeTags(context.Background(), "csivg", "thick1", []string{"ok"}, []string{"bad tag"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("ChangeTags(bad tag) = %v, want ErrInvalid", err)
	}
}

func TestActivate(t *testing.T) {
	l := newTestLVM(t, recorded(t, "lvchange-activate", runnertest.Argv("lvchange -ay -K csivg/snap1")...))
	if err := l.Activate(context.Background(), "csivg", "snap1"); err != nil {
		t.Errorf("Activate = %v", err)
	}
	l = newTestLVM(t, recorded(t, "lvchange-activate-missing", runnertest.Argv("lvchange -ay -K csivg/nosuch")...))
	if err := l.Activate(context.Background(), "csivg", "nosuch"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Activate(missing) = %v, want ErrNotFound", err)
	}
}
