// Package connectortest is the contract suite every connector runs: the
// promises of connectors.Connector (idempotent Create that links instead of
// duplicating, conflict on somebody else's anchor, lifecycle operations that
// are safe to repeat, classified errors) checked against the real app or the
// documented fake behind the connector.
//
//	func TestContract(t *testing.T) {
//		connectortest.Run(t, connectortest.Harness{New: newConnectorAgainstEmptyApp, User: sampleUser})
//	}
package connectortest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dirbridge/dirbridge/connectors"
)

// Harness tells the suite how to reach an app.
type Harness struct {
	// New returns a connector to an app that holds none of the suite's
	// accounts (reset the server, or use a fresh fake). Register cleanup on t.
	New func(t *testing.T) connectors.Connector
	// User returns a valid desired account for person i in the app's
	// dialect (attribute names the app accepts). Anchor and UserName must be
	// unique per i and stable across calls.
	User func(i int) connectors.User
	// Rename returns u with a changed mapped attribute, for Update.
	Rename func(u connectors.User) connectors.User
	// NoFreeze: the app has no way to freeze (the connector must then
	// return a Permanent error for Freeze, never pretend).
	NoFreeze bool
	// DeactivateDeletes: the provider deletes on deactivation (StatusDeleted).
	DeactivateDeletes bool
}

type run struct {
	h    Harness
	c    connectors.Connector
	seq  uint64
	acct map[int]connectors.Account
	sent map[int]*connectors.User
}

func (r *run) do(t *testing.T, i int, op connectors.Operation, u connectors.User, verify bool) (connectors.Account, error) {
	t.Helper()
	r.seq++
	req := connectors.Request{ID: r.seq, App: "contract", PersonID: fmt.Sprintf("person-%d", i), Op: op,
		Desired: u, Confirmed: r.sent[i], Account: r.acct[i], Attempt: 1, Verify: verify}
	if verify {
		req.Attempt = 2
	}
	if op == connectors.OpUpdate && r.sent[i] != nil {
		for k, v := range u.Attributes {
			if fmt.Sprint(r.sent[i].Attributes[k]) != fmt.Sprint(v) {
				req.Changed = append(req.Changed, k)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := r.c.Apply(ctx, req)
	if err == nil {
		if a.ExternalID != "" {
			r.acct[i] = a
		}
		cp := u
		r.sent[i] = &cp
	}
	return a, err
}

func (r *run) must(t *testing.T, i int, op connectors.Operation, u connectors.User, verify bool) connectors.Account {
	t.Helper()
	a, err := r.do(t, i, op, u, verify)
	if err != nil {
		t.Fatalf("%s of person %d: %v", op, i, err)
	}
	return a
}

func newRun(t *testing.T, h Harness) *run {
	return &run{h: h, c: h.New(t), acct: map[int]connectors.Account{}, sent: map[int]*connectors.User{}}
}

// Run runs the contract suite.
func Run(t *testing.T, h Harness) {
	t.Run("CreateReturnsTheAccount", func(t *testing.T) { testCreate(t, newRun(t, h)) })
	t.Run("RetriedCreateLinksInsteadOfDuplicating", func(t *testing.T) { testRetriedCreate(t, newRun(t, h)) })
	t.Run("CreateNeverAdoptsAnotherAnchor", func(t *testing.T) { testConflict(t, newRun(t, h)) })
	t.Run("Update", func(t *testing.T) { testUpdate(t, newRun(t, h)) })
	t.Run("LifecycleIsIdempotent", func(t *testing.T) { testLifecycle(t, newRun(t, h)) })
	t.Run("FreezeAndUnfreeze", func(t *testing.T) { testFreeze(t, newRun(t, h)) })
	t.Run("UpdateOfAMissingAccountIsNotFound", func(t *testing.T) { testMissing(t, newRun(t, h)) })
	t.Run("ListerSeesCreatedAccounts", func(t *testing.T) { testLister(t, newRun(t, h)) })
}

func testCreate(t *testing.T, r *run) {
	u := r.h.User(1)
	a := r.must(t, 1, connectors.OpCreate, u, false)
	if a.ExternalID == "" || a.Status != connectors.StatusActive {
		t.Fatalf("Create returned %+v, want an external id and Active", a)
	}
}

func testRetriedCreate(t *testing.T, r *run) {
	u := r.h.User(2)
	first := r.must(t, 2, connectors.OpCreate, u, false)
	r.acct[2] = connectors.Account{} // the crash lost the answer: no stored link
	again := r.must(t, 2, connectors.OpCreate, u, true)
	if again.ExternalID != first.ExternalID {
		t.Fatalf("retried Create made a second account: %s then %s", first.ExternalID, again.ExternalID)
	}
	if n := countAnchor(t, r, u.Anchor); n > 1 {
		t.Fatalf("%d accounts carry anchor %s", n, u.Anchor)
	}
}

func testConflict(t *testing.T, r *run) {
	owner := r.h.User(3)
	r.must(t, 3, connectors.OpCreate, owner, false)
	intruder := r.h.User(4)
	intruder.UserName = owner.UserName // same login, different anchor: a re-hire with a new GUID
	for k, v := range owner.Attributes {
		if fmt.Sprint(v) == owner.UserName {
			intruder.Attributes[k] = v
		}
	}
	_, err := r.do(t, 4, connectors.OpCreate, intruder, false)
	if class, _ := connectors.ClassOf(err); err == nil || class != connectors.Conflict {
		t.Fatalf("Create of another anchor's login: err = %v, want a Conflict", err)
	}
}

func testUpdate(t *testing.T, r *run) {
	u := r.h.User(5)
	created := r.must(t, 5, connectors.OpCreate, u, false)
	changed := r.h.Rename(u)
	a := r.must(t, 5, connectors.OpUpdate, changed, false)
	if a.ExternalID != "" && a.ExternalID != created.ExternalID {
		t.Fatalf("Update changed the account id: %s -> %s", created.ExternalID, a.ExternalID)
	}
	r.must(t, 5, connectors.OpUpdate, changed, true) // a repeated Update is harmless
}

func testLifecycle(t *testing.T, r *run) {
	u := r.h.User(6)
	r.must(t, 6, connectors.OpCreate, u, false)
	off := u
	off.Active = false
	for range 2 {
		a := r.must(t, 6, connectors.OpDeactivate, off, false)
		want := connectors.StatusDeactivated
		if r.h.DeactivateDeletes {
			want = connectors.StatusDeleted
		}
		if a.Status != want {
			t.Fatalf("Deactivate returned status %s, want %s", a.Status, want)
		}
	}
	on := u
	on.Active = true
	op := connectors.OpReactivate
	if r.h.DeactivateDeletes {
		op = connectors.OpCreate
		r.acct[6] = connectors.Account{}
	}
	for range 2 {
		if a := r.must(t, 6, op, on, false); a.Status != connectors.StatusActive {
			t.Fatalf("%s returned %s, want Active", op, a.Status)
		}
	}
	if !r.h.DeactivateDeletes {
		r.must(t, 6, connectors.OpDeactivate, off, false)
		if a := r.must(t, 6, connectors.OpActivate, on, false); a.Status != connectors.StatusActive {
			t.Fatalf("Activate returned %s", a.Status)
		}
	}
}

func testFreeze(t *testing.T, r *run) {
	u := r.h.User(7)
	r.must(t, 7, connectors.OpCreate, u, false)
	frozen := u
	frozen.Frozen = true
	a, err := r.do(t, 7, connectors.OpFreeze, frozen, false)
	if r.h.NoFreeze {
		if class, _ := connectors.ClassOf(err); err == nil || class != connectors.Permanent {
			t.Fatalf("Freeze on an app without freeze: err = %v, want Permanent", err)
		}
		return
	}
	if err != nil || a.Status != connectors.StatusFrozen {
		t.Fatalf("Freeze: %+v, %v; want Frozen", a, err)
	}
	if a := r.must(t, 7, connectors.OpUnfreeze, u, false); a.Status != connectors.StatusActive {
		t.Fatalf("Unfreeze returned %s, want Active", a.Status)
	}
}

func testMissing(t *testing.T, r *run) {
	u := r.h.User(8)
	r.acct[8] = connectors.Account{ExternalID: "00000000-dead-beef-0000-000000000000", UserName: u.UserName}
	r.sent[8] = &u
	_, err := r.do(t, 8, connectors.OpUpdate, r.h.Rename(u), false)
	if class, _ := connectors.ClassOf(err); err == nil || class != connectors.NotFound {
		t.Fatalf("Update of a missing account: err = %v, want NotFound", err)
	}
}

func testLister(t *testing.T, r *run) {
	if _, ok := r.c.(connectors.Lister); !ok {
		t.Skip("connector does not list accounts")
	}
	for i := 10; i < 13; i++ {
		r.must(t, i, connectors.OpCreate, r.h.User(i), false)
	}
	for i := 10; i < 13; i++ {
		if n := countAnchor(t, r, r.h.User(i).Anchor); n != 1 {
			t.Errorf("ListAccounts shows anchor %s %d times, want once", r.h.User(i).Anchor, n)
		}
	}
}

func countAnchor(t *testing.T, r *run, anchor string) int {
	t.Helper()
	l, ok := r.c.(connectors.Lister)
	if !ok {
		return 0
	}
	n := 0
	err := l.ListAccounts(context.Background(), func(a connectors.Account) error {
		if a.Anchor == anchor {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatalf("ListAccounts: %v", err)
	}
	return n
}
