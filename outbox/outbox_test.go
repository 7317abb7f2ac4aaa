package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/dirbridge/dirbridge/connectors"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func openTest(t *testing.T) (*Store, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	s, err := Open(filepath.Join(t.TempDir(), "state.db"), Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, clk
}

func user(name string, active bool) *connectors.User {
	return &connectors.User{Anchor: "anchor-" + name, UserName: name + "@corp.example", Active: active,
		Attributes: map[string]any{"mail": name + "@corp.example"}}
}

func update(t *testing.T, s *Store, fn func(*Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func enqueue(t *testing.T, s *Store, app, person string, op connectors.Operation, target *connectors.User) Request {
	t.Helper()
	var r Request
	update(t, s, func(tx *Tx) error {
		if target != nil && op != connectors.OpDeactivate {
			if err := tx.SetDesired(app, person, target); err != nil {
				return err
			}
		}
		var err error
		r, err = tx.Enqueue(NewRequest{App: app, PersonID: person, Op: op, Reason: "test", Target: target})
		return err
	})
	return r
}

func claim(t *testing.T, s *Store, app string, n int, now time.Time) []Work {
	t.Helper()
	var w []Work
	update(t, s, func(tx *Tx) error {
		var err error
		w, err = tx.Claim(app, n, now, nil)
		return err
	})
	return w
}

func complete(t *testing.T, s *Store, id uint64, extID string) {
	t.Helper()
	update(t, s, func(tx *Tx) error {
		return tx.Complete(id, connectors.Account{ExternalID: extID, Status: connectors.StatusActive})
	})
}

func request(t *testing.T, s *Store, id uint64) Request {
	t.Helper()
	var r Request
	if err := s.View(func(tx *Tx) error { var err error; r, err = tx.Request(id); return err }); err != nil {
		t.Fatal(err)
	}
	return r
}

func ids(w []Work) []uint64 {
	out := make([]uint64, len(w))
	for i := range w {
		out[i] = w[i].Request.ID
	}
	return out
}

// provisioned creates and completes an account for person, so later tests
// start from a confirmed active account.
func provisioned(t *testing.T, s *Store, clk *clock, app, person string) {
	t.Helper()
	r := enqueue(t, s, app, person, connectors.OpCreate, user(person, true))
	w := claim(t, s, app, 1, clk.Now())
	if len(w) != 1 || w[0].Request.ID != r.ID {
		t.Fatalf("claim = %v, want [%d]", ids(w), r.ID)
	}
	complete(t, s, r.ID, "ext-"+person)
}

func TestStateMachine(t *testing.T) {
	legal := map[[2]State]bool{}
	for from, tos := range transitions {
		for _, to := range tos {
			legal[[2]State{from, to}] = true
		}
	}
	for _, from := range States {
		for _, to := range States {
			if got := from.CanMoveTo(to); got != legal[[2]State{from, to}] {
				t.Errorf("%s -> %s: CanMoveTo = %v", from, to, got)
			}
		}
	}
	for _, s := range []State{StateCompleted, StateDenied, StateCanceled, StateManuallyCompleted} {
		if !s.Terminal() {
			t.Errorf("%s should be terminal", s)
		}
	}
}

func TestIllegalTransitionsThroughTheAPI(t *testing.T) {
	s, clk := openTest(t)
	newReq := enqueue(t, s, "slack", "p1", connectors.OpCreate, user("p1", true))
	done := enqueue(t, s, "slack", "p2", connectors.OpCreate, user("p2", true))
	claim(t, s, "slack", 10, clk.Now())
	complete(t, s, done.ID, "x")
	cases := []struct {
		name string
		op   func(*Tx) error
	}{
		{"complete a request twice", func(tx *Tx) error { return tx.Complete(done.ID, connectors.Account{}) }},
		{"approve a request that is not held", func(tx *Tx) error { _, err := tx.Approve(done.ID, "a"); return err }},
		{"retry a completed request", func(tx *Tx) error { _, err := tx.Retry(done.ID, "a"); return err }},
		{"cancel a request being delivered", func(tx *Tx) error { _, err := tx.Cancel(newReq.ID, "a"); return err }},
		{"fail a request that is not in flight", func(tx *Tx) error {
			_, err := tx.Fail(done.ID, errors.New("x"), RetryPolicy{})
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := s.Update(context.Background(), c.op)
			if !errors.Is(err, ErrIllegalTransition) {
				t.Fatalf("err = %v, want ErrIllegalTransition", err)
			}
		})
	}
}

func TestHandOutRules(t *testing.T) {
	t.Run("one person in order, one at a time", func(t *testing.T) {
		s, clk := openTest(t)
		c := enqueue(t, s, "app", "p", connectors.OpCreate, user("p", true))
		u := enqueue(t, s, "app", "p", connectors.OpUpdate, user("p", true))
		if w := claim(t, s, "app", 10, clk.Now()); len(w) != 1 || w[0].Request.ID != c.ID {
			t.Fatalf("first claim = %v, want only the Create %d", ids(w), c.ID)
		}
		if w := claim(t, s, "app", 10, clk.Now()); len(w) != 0 {
			t.Fatalf("claim while the Create is in flight = %v, want none", ids(w))
		}
		complete(t, s, c.ID, "e1")
		if w := claim(t, s, "app", 10, clk.Now()); len(w) != 1 || w[0].Request.ID != u.ID {
			t.Fatalf("claim after completion = %v, want the Update %d", ids(w), u.ID)
		}
	})
	t.Run("different people in parallel", func(t *testing.T) {
		s, clk := openTest(t)
		for _, p := range []string{"a", "b", "c"} {
			enqueue(t, s, "app", p, connectors.OpCreate, user(p, true))
		}
		if w := claim(t, s, "app", 10, clk.Now()); len(w) != 3 {
			t.Fatalf("claimed %d, want 3", len(w))
		}
	})
	t.Run("apps are independent", func(t *testing.T) {
		s, clk := openTest(t)
		enqueue(t, s, "one", "p", connectors.OpCreate, user("p", true))
		if w := claim(t, s, "two", 10, clk.Now()); len(w) != 0 {
			t.Fatalf("app two claimed %v", ids(w))
		}
	})
	t.Run("priority lane overtakes bulk creates", func(t *testing.T) {
		s, clk := openTest(t)
		provisioned(t, s, clk, "app", "leaver")
		for _, p := range []string{"n1", "n2", "n3"} {
			enqueue(t, s, "app", p, connectors.OpCreate, user(p, true))
		}
		clk.Advance(time.Second)
		d := enqueue(t, s, "app", "leaver", connectors.OpDeactivate, user("leaver", false))
		if w := claim(t, s, "app", 1, clk.Now()); len(w) != 1 || w[0].Request.ID != d.ID {
			t.Fatalf("claim(1) = %v, want the Deactivate %d first", ids(w), d.ID)
		}
	})
	t.Run("not before its due time", func(t *testing.T) {
		s, clk := openTest(t)
		update(t, s, func(tx *Tx) error {
			_, err := tx.Enqueue(NewRequest{App: "app", PersonID: "p", Op: connectors.OpCreate,
				Target: user("p", true), NotBefore: clk.Now().Add(time.Hour)})
			return err
		})
		if w := claim(t, s, "app", 1, clk.Now()); len(w) != 0 {
			t.Fatalf("claimed a request due in an hour: %v", ids(w))
		}
		if w := claim(t, s, "app", 1, clk.Now().Add(time.Hour)); len(w) != 1 {
			t.Fatal("request not handed out once due")
		}
	})
	t.Run("paused operations stay queued", func(t *testing.T) {
		s, clk := openTest(t)
		provisioned(t, s, clk, "app", "old")
		enqueue(t, s, "app", "new", connectors.OpCreate, user("new", true))
		upd := enqueue(t, s, "app", "old", connectors.OpUpdate, user("old", true))
		var w []Work
		update(t, s, func(tx *Tx) error {
			var err error
			w, err = tx.Claim("app", 10, clk.Now(), func(op connectors.Operation) bool { return op == connectors.OpCreate })
			return err
		})
		if len(w) != 1 || w[0].Request.ID != upd.ID {
			t.Fatalf("claim with Creates paused = %v, want only %d", ids(w), upd.ID)
		}
		if w := claim(t, s, "app", 10, clk.Now()); len(w) != 1 || w[0].Request.Op != connectors.OpCreate {
			t.Fatalf("the paused Create was lost: %v", ids(w))
		}
	})
}

func TestSupersede(t *testing.T) {
	cases := []struct {
		name       string
		urgent     connectors.Operation
		setup      func(t *testing.T, s *Store, clk *clock) []uint64 // requests that must be superseded
		keep       func(t *testing.T, s *Store, clk *clock) []uint64 // requests that must stay
		wantMooted bool
	}{
		{name: "deactivate supersedes queued and failed updates", urgent: connectors.OpDeactivate,
			setup: func(t *testing.T, s *Store, clk *clock) []uint64 {
				failed := enqueue(t, s, "app", "p", connectors.OpUpdate, user("p", true))
				claim(t, s, "app", 1, clk.Now())
				update(t, s, func(tx *Tx) error {
					_, err := tx.Fail(failed.ID, &connectors.Error{Class: connectors.Permanent, Err: errors.New("bad email")}, RetryPolicy{})
					return err
				})
				queued := enqueue(t, s, "app", "p", connectors.OpUpdate, user("p", true))
				return []uint64{failed.ID, queued.ID}
			}},
		{name: "freeze supersedes a held update", urgent: connectors.OpFreeze,
			setup: func(t *testing.T, s *Store, clk *clock) []uint64 {
				var r Request
				update(t, s, func(tx *Tx) error {
					var err error
					r, err = tx.Enqueue(NewRequest{App: "app", PersonID: "p", Op: connectors.OpUpdate, Target: user("p", true), Hold: "guard"})
					return err
				})
				return []uint64{r.ID}
			}},
		{name: "an update being delivered is not superseded", urgent: connectors.OpDeactivate,
			keep: func(t *testing.T, s *Store, clk *clock) []uint64 {
				r := enqueue(t, s, "app", "p", connectors.OpUpdate, user("p", true))
				claim(t, s, "app", 1, clk.Now())
				return []uint64{r.ID}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, clk := openTest(t)
			provisioned(t, s, clk, "app", "p")
			var gone, kept []uint64
			if c.setup != nil {
				gone = c.setup(t, s, clk)
			}
			if c.keep != nil {
				kept = c.keep(t, s, clk)
			}
			target := user("p", true)
			target.Active, target.Frozen = c.urgent != connectors.OpDeactivate, c.urgent == connectors.OpFreeze
			urgent := enqueue(t, s, "app", "p", c.urgent, target)
			for _, id := range gone {
				r := request(t, s, id)
				if r.State != StateCanceled || r.SupersededBy != urgent.ID {
					t.Errorf("request %d: state %s superseded by %d, want Canceled by %d", id, r.State, r.SupersededBy, urgent.ID)
				}
			}
			for _, id := range kept {
				if r := request(t, s, id); r.State == StateCanceled {
					t.Errorf("request %d was superseded while in flight", id)
				}
			}
			if len(kept) == 0 {
				if w := claim(t, s, "app", 10, clk.Now()); len(w) != 1 || w[0].Request.ID != urgent.ID {
					t.Fatalf("claim = %v, want the %s %d: a failed update must not block a termination", ids(w), c.urgent, urgent.ID)
				}
			}
		})
	}
}

func TestDeactivateWithdrawsACreateNeverSent(t *testing.T) {
	s, clk := openTest(t)
	var create Request
	update(t, s, func(tx *Tx) error {
		var err error
		create, err = tx.Enqueue(NewRequest{App: "app", PersonID: "p", Op: connectors.OpCreate, Target: user("p", true), Hold: "mass-create guard"})
		return err
	})
	d := enqueue(t, s, "app", "p", connectors.OpDeactivate, nil)
	if r := request(t, s, create.ID); r.State != StateCanceled {
		t.Fatalf("held Create is %s, want Canceled", r.State)
	}
	if r := request(t, s, d.ID); r.State != StateCanceled || r.LastError == "" {
		t.Fatalf("moot Deactivate is %s (%q), want Canceled with a reason", r.State, r.LastError)
	}
	if w := claim(t, s, "app", 10, clk.Now()); len(w) != 0 {
		t.Fatalf("nothing should be sent, got %v", ids(w))
	}
}

func TestDenyAndCancelResetPlannedToConfirmed(t *testing.T) {
	for _, decide := range []struct {
		name string
		fn   func(tx *Tx, id uint64) (Request, error)
		want State
	}{
		{"deny", func(tx *Tx, id uint64) (Request, error) { return tx.Deny(id, "alice") }, StateDenied},
		{"cancel", func(tx *Tx, id uint64) (Request, error) { return tx.Cancel(id, "alice") }, StateCanceled},
	} {
		t.Run(decide.name, func(t *testing.T) {
			s, clk := openTest(t)
			provisioned(t, s, clk, "app", "p")
			var held Request
			update(t, s, func(tx *Tx) error {
				var err error
				held, err = tx.Enqueue(NewRequest{App: "app", PersonID: "p", Op: connectors.OpDeactivate, Target: user("p", false), Hold: "mass deactivation"})
				return err
			})
			update(t, s, func(tx *Tx) error {
				r, err := decide.fn(tx, held.ID)
				if err == nil && (r.State != decide.want || (r.Approver != "alice" && r.Operator != "alice")) {
					t.Errorf("request = %s by %q/%q", r.State, r.Approver, r.Operator)
				}
				return err
			})
			_ = s.View(func(tx *Tx) error {
				st, _, _ := tx.State("app", "p")
				if st.Planned == nil || !st.Planned.Active || len(st.Pending) != 0 {
					t.Errorf("planned = %+v pending %v, want confirmed (active) and nothing pending", st.Planned, st.Pending)
				}
				return nil
			})
		})
	}
}

func TestApprovalReleasesHeldRequests(t *testing.T) {
	s, clk := openTest(t)
	for _, p := range []string{"a", "b"} {
		update(t, s, func(tx *Tx) error {
			_, err := tx.Enqueue(NewRequest{App: "app", PersonID: p, Op: connectors.OpCreate, Target: user(p, true), Hold: "more than 100 creates"})
			return err
		})
	}
	if w := claim(t, s, "app", 10, clk.Now()); len(w) != 0 {
		t.Fatalf("held requests were handed out: %v", ids(w))
	}
	update(t, s, func(tx *Tx) error {
		n, err := tx.ApproveHeld("app", "bob")
		if n != 2 {
			t.Errorf("approved %d, want 2", n)
		}
		return err
	})
	w := claim(t, s, "app", 10, clk.Now())
	if len(w) != 2 || w[0].Request.Approver != "bob" {
		t.Fatalf("after approval claimed %v", ids(w))
	}
}

func TestPayloadIsBuiltAtHandOut(t *testing.T) {
	s, clk := openTest(t)
	provisioned(t, s, clk, "app", "p")
	enqueue(t, s, "app", "p", connectors.OpUpdate, user("p", true))
	newer := user("p", true)
	newer.Attributes["mail"] = "renamed@corp.example"
	newer.Attributes["title"] = "Engineer"
	update(t, s, func(tx *Tx) error { return tx.SetDesired("app", "p", newer) })
	w := claim(t, s, "app", 1, clk.Now())
	if len(w) != 1 {
		t.Fatal("no work")
	}
	c := w[0].Call
	if c.Desired.Attributes["mail"] != "renamed@corp.example" {
		t.Errorf("payload carries %v, want the latest desired mail", c.Desired.Attributes["mail"])
	}
	if len(c.Changed) != 2 || c.Changed[0] != "mail" || c.Changed[1] != "title" {
		t.Errorf("Changed = %v, want [mail title]", c.Changed)
	}
	if c.Account.ExternalID != "ext-p" || c.Confirmed == nil {
		t.Errorf("call lacks the link or confirmed state: %+v", c)
	}
}

func TestFailureClasses(t *testing.T) {
	cases := []struct {
		name      string
		err       error
		attempts  int // failures before the checked one
		want      State
		wantDelay time.Duration
	}{
		{"network error retries with backoff", errors.New("connection reset"), 0, StateRetrying, 2 * time.Second},
		{"retryable gives up after max attempts", errors.New("503"), 2, StateFailed, 0},
		{"permanent fails at once", &connectors.Error{Class: connectors.Permanent, Err: errors.New("invalid email")}, 0, StateFailed, 0},
		{"conflict fails at once", &connectors.Error{Class: connectors.Conflict, Err: errors.New("anchor of someone else")}, 0, StateFailed, 0},
		{"rate limited waits for Retry-After", &connectors.Error{Class: connectors.RateLimited, RetryAfter: 30 * time.Second}, 5, StateRetrying, 30 * time.Second},
		{"capacity pauses", &connectors.Error{Class: connectors.Capacity, Err: errors.New("LICENSE_LIMIT_EXCEEDED")}, 0, StateRetrying, 15 * time.Minute},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, clk := openTest(t)
			r := enqueue(t, s, "app", "p", connectors.OpCreate, user("p", true))
			policy := RetryPolicy{MaxAttempts: 3}
			var got Request
			for i := 0; i <= c.attempts; i++ {
				if w := claim(t, s, "app", 1, clk.Now().Add(24*time.Hour*time.Duration(i))); len(w) != 1 {
					t.Fatalf("attempt %d not handed out", i+1)
				}
				update(t, s, func(tx *Tx) error { var err error; got, err = tx.Fail(r.ID, c.err, policy); return err })
			}
			if got.State != c.want {
				t.Fatalf("state = %s, want %s", got.State, c.want)
			}
			if c.want == StateRetrying {
				if d := got.NextAttempt.Sub(clk.Now()); d != c.wantDelay {
					t.Errorf("next attempt in %v, want %v", d, c.wantDelay)
				}
				if !got.Verify {
					t.Error("a retried Create must verify before resending")
				}
			}
		})
	}
}

func TestRecoveryOnOpen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := enqueue(t, s, "app", "p", connectors.OpCreate, user("p", true))
	if w := claim(t, s, "app", 1, time.Now()); len(w) != 1 || w[0].Call.Verify {
		t.Fatalf("first hand-out: %+v", w)
	}
	s.Close() // the "crash": the request is still Provisioning
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := request(t, s, r.ID)
	if got.State != StateRetrying || !got.Verify {
		t.Fatalf("after reopen: %s verify=%v, want Retrying with verify", got.State, got.Verify)
	}
	w := claim(t, s, "app", 1, time.Now())
	if len(w) != 1 || !w[0].Call.Verify || w[0].Call.Attempt != 2 {
		t.Fatalf("recovered hand-out: %+v, want Verify on attempt 2", w)
	}
}

func TestRetention(t *testing.T) {
	s, clk := openTest(t)
	done := enqueue(t, s, "app", "p1", connectors.OpCreate, user("p1", true))
	claim(t, s, "app", 1, clk.Now())
	complete(t, s, done.ID, "e")
	open := enqueue(t, s, "app", "p2", connectors.OpCreate, user("p2", true))
	clk.Advance(100 * 24 * time.Hour)
	fresh := enqueue(t, s, "app", "p3", connectors.OpCreate, user("p3", true))
	update(t, s, func(tx *Tx) error {
		logs, reqs, err := tx.Prune(clk.Now().Add(-90 * 24 * time.Hour))
		if logs != 2 || reqs != 1 { // attempt and completion of p1; p2 stays open
			t.Errorf("pruned %d log entries and %d requests, want 2 and 1", logs, reqs)
		}
		return err
	})
	_ = s.View(func(tx *Tx) error {
		if _, err := tx.Request(done.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("old completed request still there: %v", err)
		}
		for _, id := range []uint64{open.ID, fresh.ID} {
			if _, err := tx.Request(id); err != nil {
				t.Errorf("request %d pruned: %v", id, err)
			}
		}
		if c := tx.Counts("app"); c[StateCompleted] != 0 || c[StateNew] != 2 {
			t.Errorf("counts after prune = %v", c)
		}
		return nil
	})
}

func TestSchemaAndFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, Options{}); !errors.Is(err, ErrLocked) {
		t.Errorf("second open: %v, want ErrLocked", err)
	}
	s.Close()
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(btx *bolt.Tx) error { return btx.Bucket(bMeta).Put([]byte("schema"), u32(SchemaVersion+1)) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(path, Options{}); !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("open of a newer file: %v, want ErrSchemaTooNew", err)
	}
}

func TestMigrationFromEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := bolt.Open(path, 0o644, nil) // an older, wider-permission empty file
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_ = s.View(func(tx *Tx) error {
		if v := getU64(append(make([]byte, 4), tx.btx.Bucket(bMeta).Get([]byte("schema"))...)); v != SchemaVersion {
			t.Errorf("schema = %d", v)
		}
		return nil
	})
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v not tightened to 0600", fi.Mode().Perm())
	}
}

func TestGroupCommitIsolatesFailures(t *testing.T) {
	s, _ := openTest(t)
	var wg sync.WaitGroup
	errs := make([]error, 200)
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs[i] = s.Update(context.Background(), func(tx *Tx) error {
				if i%50 == 7 {
					return errors.New("producer bug")
				}
				if i%50 == 8 {
					panic("producer panic")
				}
				return tx.PutCursor("src"+string(rune('a'+i%26))+string(rune('a'+i/26)), []byte{byte(i)})
			})
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		bad := i%50 == 7 || i%50 == 8
		if bad != (err != nil) {
			t.Errorf("producer %d: err = %v", i, err)
		}
	}
	_ = s.View(func(tx *Tx) error {
		n := 0
		_ = tx.btx.Bucket(bCursors).ForEach(func(k, v []byte) error { n++; return nil })
		if n != 200-8 {
			t.Errorf("%d cursors committed, want %d", n, 200-8)
		}
		return nil
	})
}

func TestNoteAccountKeepsWhatTheAppDid(t *testing.T) {
	s, clk := openTest(t)
	provisioned(t, s, clk, "sf", "p")
	r := enqueue(t, s, "sf", "p", connectors.OpDeactivate, user("p", false))
	claim(t, s, "sf", 1, clk.Now())
	update(t, s, func(tx *Tx) error {
		if _, err := tx.Fail(r.ID, &connectors.Error{Class: connectors.Retryable, Err: errors.New("hierarchy")}, RetryPolicy{}); err != nil {
			return err
		}
		return tx.NoteAccount("sf", "p", connectors.Account{ExternalID: "ext-p", Status: connectors.StatusFrozen})
	})
	_ = s.View(func(tx *Tx) error {
		st, _, _ := tx.State("sf", "p")
		if st.Account.Status != connectors.StatusFrozen || st.Confirmed == nil || !st.Confirmed.Active {
			t.Errorf("account %+v confirmed %+v: want Frozen noted, confirmed unchanged", st.Account, st.Confirmed)
		}
		return nil
	})
}

func TestStateEncodingOmitsRepeatsAndRestoresThem(t *testing.T) {
	s, _ := openTest(t)
	d := user("p", true)
	cases := []AppState{
		{App: "a", PersonID: "p", Desired: d, Confirmed: user("p", true)},
		{App: "a", PersonID: "p", Desired: d, Confirmed: user("p", false)},
		{App: "a", PersonID: "p", Desired: nil, Confirmed: user("p", true)},
		{App: "a", PersonID: "p"},
	}
	for i, st := range cases {
		raw, err := json.Marshal(encodeState(&st))
		if err != nil {
			t.Fatal(err)
		}
		_ = s.View(func(tx *Tx) error {
			got, err := tx.decodeState(raw)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Desired, st.Desired) || !reflect.DeepEqual(got.Confirmed, st.Confirmed) {
				t.Errorf("case %d: round trip changed the state:\n got %+v\nwant %+v", i, got, st)
			}
			if !reflect.DeepEqual(got.Planned, st.Confirmed) {
				t.Errorf("case %d: with nothing open, planned must be what was confirmed: %+v", i, got.Planned)
			}
			if got.Confirmed != nil && got.Confirmed == got.Desired {
				t.Errorf("case %d: confirmed and desired share one value after decoding", i)
			}
			return nil
		})
	}
	if enc := encodeState(&cases[0]); !enc.ConfirmedIsDesired || enc.Confirmed != nil || enc.Planned != nil {
		t.Errorf("equal states are written in full: %+v", enc)
	}
}

func TestRequestLogReadsOnlyItsOwnEntriesInOrder(t *testing.T) {
	s, clk := openTest(t)
	first := enqueue(t, s, "app", "a", connectors.OpCreate, user("a", true))
	claim(t, s, "app", 1, clk.Now())
	complete(t, s, first.ID, "x")
	clk.Advance(time.Hour)
	other := enqueue(t, s, "app", "b", connectors.OpCreate, user("b", true))
	claim(t, s, "app", 1, clk.Now())
	update(t, s, func(tx *Tx) error {
		_, err := tx.Fail(other.ID, errors.New("reset"), RetryPolicy{})
		return err
	})
	_ = s.View(func(tx *Tx) error {
		for _, c := range []struct {
			r      Request
			events []Event
		}{{first, []Event{EventAttempt, EventCompleted}}, {other, []Event{EventAttempt, EventRetry}}} {
			got, err := tx.RequestLog(c.r)
			if err != nil || len(got) != len(c.events) {
				t.Fatalf("log of %d: %+v %v", c.r.ID, got, err)
			}
			for i, e := range got {
				if e.Event != c.events[i] || e.RequestID != c.r.ID {
					t.Errorf("log of %d, entry %d: %+v, want %s", c.r.ID, i, e, c.events[i])
				}
			}
		}
		return nil
	})
}
