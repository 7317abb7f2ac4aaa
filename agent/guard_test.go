package agent

import (
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

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
	// The whole batch is held: not the first 3 out and the tail held.
	w.waitFor("all 33 deactivations held", func(tx *outbox.Tx) bool {
		c := tx.Counts("slack")
		return c[outbox.StateCompleted] == 33 && c[outbox.StateAwaitingApproval] == 33
	})
	held, _ := outboxHeld(w, "slack")
	if len(held) != 33 || !strings.Contains(held[0].HeldBecause, "33 deactivations") ||
		!strings.Contains(held[0].HeldBecause, "more than 3") {
		t.Fatalf("held: %d, first %+v", len(held), held[0])
	}
	update(t, w.a.store, func(tx *outbox.Tx) error {
		n, err := tx.ApproveHeld("slack", "security-officer")
		if n != 33 {
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
