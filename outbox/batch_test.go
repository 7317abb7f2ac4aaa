package outbox

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dirbridge/dirbridge/connectors"
)

// enqueueInBatch creates n Creates in a fresh batch and returns its id.
func enqueueInBatch(t *testing.T, s *Store, app string, n int) uint64 {
	t.Helper()
	var batch uint64
	update(t, s, func(tx *Tx) error {
		var err error
		if batch, err = tx.OpenBatch("test"); err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			p := fmt.Sprintf("p%03d", i)
			if _, err := tx.Enqueue(NewRequest{App: app, PersonID: p, Op: connectors.OpCreate, Reason: "test",
				Target: user(p, true), Batch: batch, GuardKind: "create"}); err != nil {
				return err
			}
		}
		return nil
	})
	return batch
}

func TestABatchIsParkedUntilDecidedAndSettledInChunks(t *testing.T) {
	s, clk := openTest(t)
	batch := enqueueInBatch(t, s, "slack", 5)
	if w := claim(t, s, "slack", 10, clk.Now()); len(w) != 0 {
		t.Fatalf("handed out %d requests of an open batch", len(w))
	}
	var seen BatchApp
	update(t, s, func(tx *Tx) error {
		_, err := tx.CloseBatch(batch, func(b *Batch, app string, part BatchApp) string { seen = part; return "" })
		return err
	})
	if seen.Requests != 5 || seen.Kinds["create"] != 5 {
		t.Fatalf("the guard saw %+v", seen)
	}
	if w := claim(t, s, "slack", 10, clk.Now()); len(w) != 0 {
		t.Fatalf("handed out %d requests before the batch was settled", len(w))
	}
	for round := 0; ; round++ {
		var done bool
		update(t, s, func(tx *Tx) (err error) { done, err = tx.SettleBatch(batch, 2); return err })
		if done {
			if round != 2 {
				t.Errorf("settled 5 requests 2 at a time in %d rounds", round+1)
			}
			break
		}
	}
	if w := claim(t, s, "slack", 10, clk.Now()); len(w) != 5 {
		t.Fatalf("handed out %d of the released batch, want 5", len(w))
	}
	update(t, s, func(tx *Tx) error { return tx.CheckInvariants() })
}

func TestAHeldBatchIsDecidedWholeOrInPart(t *testing.T) {
	s, clk := openTest(t)
	batch := enqueueInBatch(t, s, "slack", 4)
	update(t, s, func(tx *Tx) error {
		if _, err := tx.CloseBatch(batch, func(*Batch, string, BatchApp) string { return "too many" }); err != nil {
			return err
		}
		_, err := tx.SettleBatch(batch, 100)
		return err
	})
	var held []Request
	update(t, s, func(tx *Tx) (err error) { held, err = tx.BatchRequests(batch, "slack"); return err })
	if len(held) != 4 || held[0].State != StateAwaitingApproval || held[0].HeldBecause != "too many" {
		t.Fatalf("held: %+v", held)
	}
	update(t, s, func(tx *Tx) error {
		n, err := tx.DecideBatch(batch, "slack", "ann", true, func(r Request) bool { return r.PersonID == "p001" })
		if n != 1 {
			t.Errorf("approved %d, want only p001", n)
		}
		return err
	})
	if w := claim(t, s, "slack", 10, clk.Now()); len(w) != 1 || w[0].Request.PersonID != "p001" {
		t.Fatalf("after approving p001 handed out %+v", ids(w))
	}
	update(t, s, func(tx *Tx) error {
		n, err := tx.DecideBatch(batch, "slack", "ann", false, nil)
		if err != nil || n != 3 {
			t.Errorf("denied %d (%v), want the other 3", n, err)
		}
		return tx.CheckInvariants()
	})
	update(t, s, func(tx *Tx) error {
		bs, err := tx.Batches(5)
		if len(bs) != 1 || bs[0].ID != batch || !strings.Contains(bs[0].Apps["slack"].Reason, "too many") {
			t.Errorf("recent held batches: %+v", bs)
		}
		return err
	})
}

func TestActiveAccountsAreCountedAsConfirmed(t *testing.T) {
	s, clk := openTest(t)
	r := enqueue(t, s, "slack", "ann", connectors.OpCreate, user("ann", true))
	claim(t, s, "slack", 1, clk.Now())
	complete(t, s, r.ID, "ext-ann")
	r = enqueue(t, s, "slack", "bob", connectors.OpCreate, user("bob", true))
	claim(t, s, "slack", 1, clk.Now())
	complete(t, s, r.ID, "ext-bob")
	active := func() (n int) {
		_ = s.View(func(tx *Tx) error { n = tx.ActiveAccounts("slack"); return nil })
		return n
	}
	if n := active(); n != 2 {
		t.Fatalf("%d active, want 2", n)
	}
	r = enqueue(t, s, "slack", "ann", connectors.OpDeactivate, user("ann", false))
	claim(t, s, "slack", 1, clk.Now().Add(time.Minute))
	complete(t, s, r.ID, "ext-ann")
	if n := active(); n != 1 {
		t.Fatalf("%d active after a deactivation, want 1", n)
	}
	update(t, s, func(tx *Tx) error {
		wrong, err := tx.RecountActive()
		if len(wrong) != 0 {
			t.Errorf("the maintained count disagrees with a recount: %v", wrong)
		}
		return err
	})
}

func TestTheGuardWindowRolls(t *testing.T) {
	s, clk := openTest(t)
	update(t, s, func(tx *Tx) error { return tx.GuardAdmit("slack", "deactivate", 7, 300) })
	clk.Advance(30 * time.Minute)
	update(t, s, func(tx *Tx) error { return tx.GuardAdmit("slack", "deactivate", 8, 100) })
	count := func(since time.Time) (n int) {
		_ = s.View(func(tx *Tx) error { n = tx.GuardAdmitted("slack", "deactivate", since); return nil })
		return n
	}
	if n := count(clk.Now().Add(-time.Hour)); n != 400 {
		t.Errorf("the last hour admitted %d, want 400", n)
	}
	if n := count(clk.Now().Add(-10 * time.Minute)); n != 100 {
		t.Errorf("the last 10 minutes admitted %d, want 100", n)
	}
	update(t, s, func(tx *Tx) error { return tx.PruneGuard(clk.Now().Add(-10 * time.Minute)) })
	if n := count(time.Time{}); n != 100 {
		t.Errorf("after pruning %d remain, want 100", n)
	}
}
