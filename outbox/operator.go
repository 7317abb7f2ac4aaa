package outbox

import (
	"fmt"

	"github.com/dirbridge/dirbridge/connectors"
)

// Approve releases a request held for approval; who is recorded.
func (tx *Tx) Approve(id uint64, who string) (Request, error) {
	return tx.operate(id, who, StateApproved, EventApproved)
}

// Deny refuses a held request. The person's planned state is reset from
// confirmed and the remaining queue in the same transaction, so a later
// change is planned from the truth.
func (tx *Tx) Deny(id uint64, who string) (Request, error) {
	return tx.operate(id, who, StateDenied, EventDenied)
}

// Cancel withdraws an open request (not one being delivered right now).
func (tx *Tx) Cancel(id uint64, who string) (Request, error) {
	return tx.operate(id, who, StateCanceled, EventCanceled)
}

// MarkCompleted records that an operator did the work by hand: the request's
// target becomes the confirmed state.
func (tx *Tx) MarkCompleted(id uint64, who string) (Request, error) {
	return tx.operate(id, who, StateManuallyCompleted, EventManuallyCompleted)
}

// Retry sends a Failed or Retrying request again now. An earlier attempt may
// have reached the app, so the connector verifies first.
func (tx *Tx) Retry(id uint64, who string) (Request, error) {
	r, st, err := tx.requestAndState(id)
	if err != nil {
		return r, err
	}
	was := r.State
	switch r.State {
	case StateRetrying:
		if err := tx.unready(&r); err != nil {
			return r, err
		}
	case StateFailed:
		if err := r.moveTo(StateRetrying, tx.now); err != nil {
			return r, err
		}
	default:
		return r, fmt.Errorf("%w: request %d is %s; only Failed or Retrying requests can be retried", ErrIllegalTransition, id, r.State)
	}
	r.NextAttempt, r.Operator, r.Updated = tx.now, who, tx.now
	r.Verify = r.Verify || r.Attempts > 0
	if err := tx.saveRequest(&r, was); err != nil {
		return r, err
	}
	if err := tx.log(&r, EventRetried, "", who); err != nil {
		return r, err
	}
	if err := tx.promote(&st); err != nil {
		return r, err
	}
	return r, tx.putState(&st)
}

func (tx *Tx) operate(id uint64, who string, to State, ev Event) (Request, error) {
	r, st, err := tx.requestAndState(id)
	if err != nil {
		return r, err
	}
	was := r.State
	if err := tx.unready(&r); err != nil {
		return r, err
	}
	if err := r.moveTo(to, tx.now); err != nil {
		return r, err
	}
	if to == StateApproved || to == StateDenied {
		r.Approver = who
	} else {
		r.Operator = who
	}
	if err := tx.saveRequest(&r, was); err != nil {
		return r, err
	}
	if err := tx.log(&r, ev, "", who); err != nil {
		return r, err
	}
	if to == StateApproved {
		if err := tx.promote(&st); err != nil {
			return r, err
		}
		return r, tx.putState(&st)
	}
	if to == StateManuallyCompleted {
		if err := tx.setConfirmed(&st, cloneUser(r.Target)); err != nil {
			return Request{}, err
		}
	}
	st.Pending = removeID(st.Pending, r.ID)
	tx.replan(&st)
	return r, tx.finish(&st, &r)
}

// Held returns the requests of app waiting for approval, oldest first.
func (tx *Tx) Held(app string) ([]Request, error) {
	return tx.ListRequests(Filter{App: app, States: []State{StateAwaitingApproval}, Oldest: true})
}

// ApproveHeld approves every request of app held for approval, in one step
// (a mass-change batch shown on the status page). It returns how many.
func (tx *Tx) ApproveHeld(app, who string) (int, error) { return tx.decideHeld(app, who, true) }

// DenyHeld denies every request of app held for approval.
func (tx *Tx) DenyHeld(app, who string) (int, error) { return tx.decideHeld(app, who, false) }

func (tx *Tx) decideHeld(app, who string, approve bool) (int, error) {
	held, err := tx.Held(app)
	if err != nil {
		return 0, err
	}
	for _, r := range held {
		if approve {
			_, err = tx.Approve(r.ID, who)
		} else {
			_, err = tx.Deny(r.ID, who)
		}
		if err != nil {
			return 0, err
		}
	}
	return len(held), nil
}

// Filter selects requests for ListRequests.
type Filter struct {
	App      string
	PersonID string
	States   []State
	Ops      []connectors.Operation
	Batch    uint64 // 0: any batch
	Limit    int    // 0: no limit
	Oldest   bool   // oldest first; default newest first
}

func (f *Filter) match(r *Request) bool {
	if (f.App != "" && r.App != f.App) || (f.PersonID != "" && r.PersonID != f.PersonID) || (f.Batch != 0 && r.Batch != f.Batch) {
		return false
	}
	return containsOrEmpty(f.States, r.State) && containsOrEmpty(f.Ops, r.Op)
}

func containsOrEmpty[T comparable](set []T, v T) bool {
	if len(set) == 0 {
		return true
	}
	for _, s := range set {
		if s == v {
			return true
		}
	}
	return false
}
