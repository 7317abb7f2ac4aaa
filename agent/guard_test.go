package agent

import (
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/dirbridge/dirbridge/config"
	"github.com/dirbridge/dirbridge/connectors"
	"github.com/dirbridge/dirbridge/outbox"
)

func TestAnEmptiedDirectoryDeactivatesNobodyUntilAccepted(t *testing.T) {
	w := startWorld(t)
	w.waitFor("the initial Creates", func(tx *outbox.Tx) bool { return tx.Counts("slack")[outbox.StateCompleted] == 33 })
	w.edit(func(e []*ldap.Entry) []*ldap.Entry { return e[len(e)-3:] }) // only the groups are left
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(w.a.status.get().LastError, "returned no people") {
		if time.Now().After(deadline) {
			t.Fatalf("no empty-read warning; status %+v", w.a.status.get())
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = w.a.store.View(func(tx *outbox.Tx) error {
		reqs, _ := tx.ListRequests(outbox.Filter{Ops: []connectors.Operation{connectors.OpDeactivate}})
		if len(reqs) != 0 {
			t.Fatalf("an empty read produced %d deactivations", len(reqs))
		}
		return nil
	})
	w.a.RequestFullRead(true) // the operator confirms: everybody really left
	w.waitFor("the accepted deactivations", func(tx *outbox.Tx) bool {
		return tx.Counts("slack")[outbox.StateCompleted] == 33+33
	})
}

func TestGuardHoldsMassChanges(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	g := newGuard(config.Guard{MaxDeactivations: 3, MaxDeactivationPercent: 20, MaxCreates: 2, MaxIdentifierChanges: 1, Window: time.Hour}, clock)
	var held []string
	for i := 0; i < 5; i++ {
		held = append(held, g.admit("slack", connectors.OpDeactivate, nil, nil))
	}
	if held[2] != "" || held[3] == "" || !strings.Contains(held[3], "more than 3 deactivations") {
		t.Fatalf("deactivations: %q", held)
	}
	g2 := newGuard(config.Guard{MaxDeactivations: 500, MaxDeactivationPercent: 20, Window: time.Hour}, clock)
	g2.setActive("big", 1000) // 20% of 1000 is 200, below the count limit of 500
	n := 0
	for g2.admit("big", connectors.OpDeactivate, nil, nil) == "" {
		n++
	}
	if n != 200 {
		t.Errorf("percentage limit admitted %d, want 200", n)
	}
	if g.admit("slack", connectors.OpCreate, nil, nil) != "" || g.admit("slack", connectors.OpCreate, nil, nil) != "" ||
		g.admit("slack", connectors.OpCreate, nil, nil) == "" {
		t.Error("the third create should be held")
	}
	a, b := &connectors.User{UserName: "a"}, &connectors.User{UserName: "b"}
	if g.admit("slack", connectors.OpUpdate, b, a) != "" || g.admit("slack", connectors.OpUpdate, b, a) == "" {
		t.Error("the second login rename should be held")
	}
	if g.admit("slack", connectors.OpUpdate, a, a) != "" {
		t.Error("an Update that keeps the login is never held")
	}
	now = now.Add(2 * time.Hour) // the window rolls on
	if g.admit("slack", connectors.OpDeactivate, nil, nil) != "" {
		t.Error("after the window a deactivation should pass")
	}
}

func TestMassDeactivationIsHeldUntilApproved(t *testing.T) {
	w := startWorldWith(t, func(cfg string) string { return cfg + "guard:\n  maxDeactivations: 3\n" })
	w.waitFor("the initial Creates", func(tx *outbox.Tx) bool { return tx.Counts("slack")[outbox.StateCompleted] == 33 })
	// Slack Users leaves the directory: everyone in it (33) would lose Slack.
	w.edit(func(e []*ldap.Entry) []*ldap.Entry {
		for i, x := range e {
			if strings.HasPrefix(x.DN, "CN=Slack Users,") {
				return append(e[:i:i], e[i+1:]...)
			}
		}
		t.Fatal("no Slack Users group")
		return e
	})
	w.waitFor("3 deactivations delivered and 30 held", func(tx *outbox.Tx) bool {
		c := tx.Counts("slack")
		return c[outbox.StateCompleted] == 33+3 && c[outbox.StateAwaitingApproval] == 30
	})
	held, _ := outboxHeld(w, "slack")
	if len(held) != 30 || !strings.Contains(held[0].HeldBecause, "more than 3 deactivations") {
		t.Fatalf("held: %d, first %+v", len(held), held[0])
	}
	update(t, w.a.store, func(tx *outbox.Tx) error {
		n, err := tx.ApproveHeld("slack", "security-officer")
		if n != 30 {
			t.Errorf("approved %d", n)
		}
		return err
	})
	w.a.poke()
	w.waitFor("the approved batch delivered", func(tx *outbox.Tx) bool { return tx.Counts("slack")[outbox.StateCompleted] == 33+33 })
}

func outboxHeld(w *world, app string) (held []outbox.Request, err error) {
	err = w.a.store.View(func(tx *outbox.Tx) error { held, err = tx.Held(app); return err })
	return held, err
}
