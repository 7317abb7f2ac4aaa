package outbox

import (
	"bytes"
	"fmt"
	"reflect"
	"sort"
	"time"

	"github.com/dirbridge/dirbridge/connectors"
)

// Enqueue queues a request for (app, person) and makes its Target the
// planned state. A Deactivate or Freeze supersedes the person's queued or
// Failed Updates; a Deactivate also withdraws a Create, Activate or
// Reactivate that was never sent, and is itself recorded as Canceled when
// nothing is left to deactivate.
func (tx *Tx) Enqueue(nr NewRequest) (Request, error) {
	if err := checkName("app", nr.App); err != nil {
		return Request{}, err
	}
	if err := checkName("person", nr.PersonID); err != nil {
		return Request{}, err
	}
	if !nr.Op.Valid() {
		return Request{}, fmt.Errorf("%w: operation %q", ErrInvalid, nr.Op)
	}
	st, _, err := tx.record(nr.App, nr.PersonID)
	if err != nil {
		return Request{}, err
	}
	id, err := tx.btx.Bucket(bRequests).NextSequence()
	if err != nil {
		return Request{}, err
	}
	r := Request{ID: id, App: nr.App, PersonID: nr.PersonID, Op: nr.Op, Reason: nr.Reason,
		State: StateNew, Target: nr.Target, NextAttempt: nr.NotBefore, Batch: nr.Batch,
		Created: tx.now, Updated: tx.now}
	if nr.Op.Urgent() {
		if err := tx.supersede(&st, &r); err != nil {
			return Request{}, err
		}
	}
	if nr.Op == connectors.OpDeactivate && len(st.Pending) == 0 && !hasActiveAccount(st.Confirmed) {
		return tx.recordMoot(&st, r, "nothing to deactivate: the account was never created or is already inactive")
	}
	if nr.Hold != "" {
		r.State, r.HeldBecause = StateAwaitingApproval, nr.Hold
	}
	if r.Batch != 0 {
		if err := tx.enterBatch(&r, nr.GuardKind); err != nil {
			return Request{}, err
		}
	}
	if err := tx.saveRequest(&r, ""); err != nil {
		return Request{}, err
	}
	if err := tx.btx.Bucket(bHistory).Put(append(prefix(r.App, r.PersonID), u64(r.ID)...), nil); err != nil {
		return Request{}, err
	}
	st.Pending = append(st.Pending, r.ID)
	st.Planned = r.Target    // not stored: derived from the last open request
	if r.HeldBecause != "" { // the request itself records its creation; the log records decisions
		if err := tx.log(&r, EventHeld, r.HeldBecause, ""); err != nil {
			return Request{}, err
		}
	}
	if err := tx.promoteKnown(&st, &r); err != nil {
		return Request{}, err
	}
	return r, tx.putState(&st)
}

func hasActiveAccount(u *connectors.User) bool { return u != nil && u.Active }

// recordMoot stores r as Canceled (for the audit trail) without queuing it.
func (tx *Tx) recordMoot(st *AppState, r Request, why string) (Request, error) {
	r.State, r.LastError = StateCanceled, why
	if err := tx.saveRequest(&r, ""); err != nil {
		return Request{}, err
	}
	if err := tx.btx.Bucket(bHistory).Put(append(prefix(r.App, r.PersonID), u64(r.ID)...), nil); err != nil {
		return Request{}, err
	}
	if err := tx.log(&r, EventCanceled, why, ""); err != nil {
		return Request{}, err
	}
	tx.replan(st)
	return r, tx.putState(st)
}

// supersede withdraws the person's requests that an urgent request makes
// pointless, so a termination is never stuck behind them.
func (tx *Tx) supersede(st *AppState, by *Request) error {
	keep := st.Pending[:0:0]
	for _, id := range st.Pending {
		r, err := tx.Request(id)
		if err != nil {
			return err
		}
		if id == st.Inflight || !supersedable(&r, by.Op) {
			keep = append(keep, id)
			continue
		}
		if err := tx.unready(&r); err != nil {
			return err
		}
		was := r.State
		r.State, r.Updated, r.SupersededBy = StateCanceled, tx.now, by.ID
		r.LastError = fmt.Sprintf("superseded by request %d (%s)", by.ID, by.Op)
		if err := tx.saveRequest(&r, was); err != nil {
			return err
		}
		if err := tx.log(&r, EventSuperseded, r.LastError, ""); err != nil {
			return err
		}
	}
	st.Pending = keep
	tx.replan(st)
	return nil
}

// supersedable: queued or Failed Updates yield to any urgent request; a
// Create/Activate/Reactivate that never reached the app yields to Deactivate.
func supersedable(r *Request, by connectors.Operation) bool {
	switch r.Op {
	case connectors.OpUpdate:
		switch r.State {
		case StateNew, StateAwaitingApproval, StateApproved, StateRetrying, StateFailed:
			return true
		}
	case connectors.OpCreate, connectors.OpActivate, connectors.OpReactivate:
		neverSent := r.Attempts == 0 &&
			(r.State == StateNew || r.State == StateAwaitingApproval || r.State == StateApproved)
		return by == connectors.OpDeactivate && neverSent
	}
	return false
}

// replan recomputes planned from confirmed and the requests still pending.
func (tx *Tx) replan(st *AppState) {
	st.Planned = cloneUser(st.Confirmed)
	if n := len(st.Pending); n > 0 {
		if r, err := tx.Request(st.Pending[n-1]); err == nil {
			st.Planned = cloneUser(r.Target)
		}
	}
}

// promote makes the head of the person's queue available for hand-out when
// its state allows it. Only the head is ever available: one request per
// person at a time, in order.
func (tx *Tx) promote(st *AppState) error { return tx.promoteKnown(st, nil) }

// promoteKnown is promote when the caller holds a request that may be the
// head, saving a decode on the enqueue path.
func (tx *Tx) promoteKnown(st *AppState, known *Request) error {
	if len(st.Pending) == 0 || st.Inflight != 0 {
		return nil
	}
	r := known
	if r == nil || r.ID != st.Pending[0] {
		head, err := tx.Request(st.Pending[0])
		if err != nil {
			return err
		}
		r = &head
	}
	if !r.State.handOut() || tx.parked(r) {
		return nil
	}
	return tx.btx.Bucket(bReady).Put(readyKey(r), []byte(r.Op))
}

func readyKey(r *Request) []byte {
	k := append(prefix(r.App), r.lane(), 0)
	k = append(k, timeKey(r.NextAttempt)...)
	return append(k, u64(r.ID)...)
}

func (tx *Tx) unready(r *Request) error { return tx.btx.Bucket(bReady).Delete(readyKey(r)) }

// Work is a request handed to a worker, with the payload built now from the
// latest desired state.
type Work struct {
	Request Request
	Call    connectors.Request
}

// Claim hands out up to max requests of app that are due at now: the
// priority lane first, then bulk work, oldest due first. skip, if not nil,
// leaves operations of a paused kind queued (Creates during a licence
// shortage). Claimed requests move to Provisioning.
func (tx *Tx) Claim(app string, max int, now time.Time, skip func(connectors.Operation) bool) ([]Work, error) {
	var ids []uint64
	var keys [][]byte
	c := tx.btx.Bucket(bReady).Cursor()
	for _, lane := range []byte{lanePriority, laneNormal} {
		p := append(prefix(app), lane, 0)
		due := append(append([]byte(nil), p...), timeKey(now)...)
		for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p) && len(ids) < max; k, v = c.Next() {
			if bytes.Compare(k[:len(due)], due) > 0 {
				break // keys are ordered by due time within a lane
			}
			if skip != nil && skip(connectors.Operation(v)) {
				continue
			}
			ids = append(ids, getU64(k[len(k)-8:]))
			keys = append(keys, append([]byte(nil), k...))
		}
	}
	for _, k := range keys {
		if err := tx.btx.Bucket(bReady).Delete(k); err != nil {
			return nil, err
		}
	}
	work := make([]Work, 0, len(ids))
	for _, id := range ids {
		w, err := tx.claimOne(id)
		if err != nil {
			return nil, err
		}
		work = append(work, w)
	}
	return work, nil
}

func (tx *Tx) claimOne(id uint64) (Work, error) {
	r, st, err := tx.requestAndState(id)
	if err != nil {
		return Work{}, err
	}
	was := r.State
	if err := r.moveTo(StateProvisioning, tx.now); err != nil {
		return Work{}, err
	}
	r.Attempts++
	call := buildCall(&st, &r)
	r.Sent = cloneUser(&call.Desired)
	if err := tx.saveRequest(&r, was); err != nil {
		return Work{}, err
	}
	if err := tx.btx.Bucket(bInflight).Put(u64(id), nil); err != nil {
		return Work{}, err
	}
	st.Inflight = id
	if err := tx.log(&r, EventAttempt, "", ""); err != nil {
		return Work{}, err
	}
	return Work{Request: r, Call: call}, tx.putState(&st)
}

// buildCall builds the connector request. Create and Update carry the
// latest desired state; lifecycle operations change only their flag on the
// account as last confirmed.
func buildCall(st *AppState, r *Request) connectors.Request {
	base := st.Desired
	if r.Op != connectors.OpCreate && r.Op != connectors.OpUpdate && st.Confirmed != nil {
		base = st.Confirmed
	}
	for _, alt := range []*connectors.User{r.Target, st.Confirmed} {
		if base == nil {
			base = alt
		}
	}
	u := connectors.User{}
	if base != nil {
		u = *cloneUser(base)
	}
	switch r.Op {
	case connectors.OpDeactivate:
		u.Active = false
	case connectors.OpActivate, connectors.OpReactivate:
		u.Active = true
	case connectors.OpFreeze:
		u.Frozen = true
	case connectors.OpUnfreeze:
		u.Frozen = false
	case connectors.OpUpdate:
		if st.Confirmed != nil { // an Update never changes the lifecycle flags
			u.Active, u.Frozen = st.Confirmed.Active, st.Confirmed.Frozen
		}
	}
	call := connectors.Request{ID: r.ID, App: r.App, PersonID: r.PersonID, Op: r.Op, Desired: u,
		Confirmed: cloneUser(st.Confirmed), Account: st.Account, Attempt: r.Attempts,
		Verify: r.Verify || r.Attempts > 1}
	if r.Op == connectors.OpUpdate {
		call.Changed = changedAttributes(&u, st.Confirmed)
	}
	return call
}

// changedAttributes lists the attribute paths whose values differ, sorted.
func changedAttributes(desired, confirmed *connectors.User) []string {
	var old map[string]any
	if confirmed != nil {
		old = confirmed.Attributes
	}
	var out []string
	for k, v := range desired.Attributes {
		if ov, ok := old[k]; !ok || !reflect.DeepEqual(ov, v) {
			out = append(out, k)
		}
	}
	for k := range old {
		if _, ok := desired.Attributes[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// NextDue returns when the next queued request of app becomes due, and
// false when nothing is queued for hand-out.
func (tx *Tx) NextDue(app string) (time.Time, bool) {
	var best time.Time
	found := false
	c := tx.btx.Bucket(bReady).Cursor()
	for _, lane := range []byte{lanePriority, laneNormal} {
		p := append(prefix(app), lane, 0)
		if k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p) {
			t := time.Unix(0, int64(getU64(k[len(p):len(p)+8])))
			if !found || t.Before(best) {
				best, found = t, true
			}
		}
	}
	return best, found
}
