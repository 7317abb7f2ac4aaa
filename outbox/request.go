package outbox

import (
	"fmt"
	"time"

	"github.com/dirbridge/dirbridge/connectors"
)

// State is where a request is in its lifecycle (docs/design.md section 3):
//
//	New -> (AwaitingApproval -> Approved | Denied) -> Provisioning -> Completed | Retrying -> ... | Failed
//
// plus Canceled and ManuallyCompleted, set by an operator.
type State string

const (
	StateNew               State = "New"
	StateAwaitingApproval  State = "AwaitingApproval"
	StateApproved          State = "Approved"
	StateDenied            State = "Denied"
	StateProvisioning      State = "Provisioning"
	StateCompleted         State = "Completed"
	StateRetrying          State = "Retrying"
	StateFailed            State = "Failed"
	StateCanceled          State = "Canceled"
	StateManuallyCompleted State = "ManuallyCompleted"
)

// States lists every state, in lifecycle order.
var States = []State{StateNew, StateAwaitingApproval, StateApproved, StateDenied, StateProvisioning,
	StateCompleted, StateRetrying, StateFailed, StateCanceled, StateManuallyCompleted}

// transitions is the state machine. Anything not listed is illegal.
var transitions = map[State][]State{
	StateNew:              {StateAwaitingApproval, StateProvisioning, StateCanceled, StateManuallyCompleted},
	StateAwaitingApproval: {StateApproved, StateDenied, StateCanceled, StateManuallyCompleted},
	StateApproved:         {StateProvisioning, StateCanceled, StateManuallyCompleted},
	StateProvisioning:     {StateCompleted, StateRetrying, StateFailed},
	StateRetrying:         {StateProvisioning, StateFailed, StateCanceled, StateManuallyCompleted},
	StateFailed:           {StateRetrying, StateCanceled, StateManuallyCompleted},
}

// Terminal reports whether no transition leaves s.
func (s State) Terminal() bool { return len(transitions[s]) == 0 }

// CanMoveTo reports whether s -> to is a legal transition.
func (s State) CanMoveTo(to State) bool {
	for _, t := range transitions[s] {
		if t == to {
			return true
		}
	}
	return false
}

// handOut reports whether a request in s may be handed to a worker.
func (s State) handOut() bool {
	return s == StateNew || s == StateApproved || s == StateRetrying
}

// Request is one lifecycle operation for one person in one app, as stored.
type Request struct {
	ID       uint64               `json:"id"`
	App      string               `json:"app"`
	PersonID string               `json:"person"`
	Op       connectors.Operation `json:"op"`
	// Reason says what caused the request: the directory change (attribute,
	// old and new value, DC and USN or cookie) or the mapping rule.
	Reason string `json:"reason"`
	State  State  `json:"state"`
	// HeldBecause says why the request waits for approval (mass-change guard,
	// approval policy); empty when it was never held.
	HeldBecause string `json:"heldBecause,omitempty"`
	Approver    string `json:"approver,omitempty"` // who approved or denied
	Operator    string `json:"operator,omitempty"` // who canceled, retried or completed it by hand
	Attempts    int    `json:"attempts"`
	// NextAttempt is when a New, Approved or Retrying request may be handed out.
	NextAttempt time.Time `json:"nextAttempt"`
	LastError   string    `json:"lastError,omitempty"`
	ErrorClass  string    `json:"errorClass,omitempty"`
	// Verify is set when an earlier attempt may have reached the app (a crash
	// while Provisioning, a timeout): the connector looks the account up first.
	Verify     bool   `json:"verify,omitempty"`
	ExternalID string `json:"externalId,omitempty"` // from the app's answer
	UserName   string `json:"userName,omitempty"`   // from the app's answer
	// Target is the account as planned once this request is done; planned
	// state is recomputed from it when an earlier request is withdrawn.
	Target *connectors.User `json:"target,omitempty"`
	// Sent is the payload of the latest attempt, built at hand-out time from
	// the latest desired state; Completed copies it into confirmed.
	Sent         *connectors.User `json:"sent,omitempty"`
	SupersededBy uint64           `json:"supersededBy,omitempty"`
	// Batch is the planning batch the request belongs to (0: none); the
	// mass-change guard decides per batch.
	Batch   uint64    `json:"batch,omitempty"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

// Lane is the hand-out lane: terminations overtake bulk work.
func (r *Request) lane() byte {
	if r.Op.Urgent() {
		return lanePriority
	}
	return laneNormal
}

const (
	lanePriority byte = 0
	laneNormal   byte = 1
)

// moveTo applies a transition, or returns ErrIllegalTransition.
func (r *Request) moveTo(to State, now time.Time) error {
	if !r.State.CanMoveTo(to) {
		return fmt.Errorf("%w: request %d from %s to %s", ErrIllegalTransition, r.ID, r.State, to)
	}
	r.State = to
	r.Updated = now
	return nil
}

// NewRequest is what a producer asks the outbox to queue.
type NewRequest struct {
	App      string
	PersonID string
	Op       connectors.Operation
	Reason   string
	// Target is the account as it will be once the request is done (nil for
	// "no account"). It becomes the person's planned state.
	Target *connectors.User
	// Hold, when not empty, queues the request as AwaitingApproval with this
	// reason (mass-change guard, approval policy).
	Hold string
	// NotBefore delays the first hand-out (zero: at once).
	NotBefore time.Time
	// Batch, when not 0, parks the request in that open batch until the
	// guard has decided about the batch (OpenBatch, CloseBatch).
	Batch uint64
	// GuardKind is what the guard counts the request as ("deactivate",
	// "create", "identifier"), or "".
	GuardKind string
}
