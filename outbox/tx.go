package outbox

import (
	"bytes"
	"fmt"
	json "github.com/goccy/go-json"
	"reflect"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/dirbridge/dirbridge/connectors"
)

// Tx is a store transaction. Producers get one from Store.Update, readers
// from Store.View. Everything returned is a copy that outlives the
// transaction.
type Tx struct {
	btx *bolt.Tx
	now time.Time
	// batches caches batch decisions per app for parked (hand-out checks).
	batches map[uint64]map[string]BatchDecision
}

// Now is the time the transaction started (the store's clock).
func (tx *Tx) Now() time.Time { return tx.now }

// LinkState says how sure dirbridge is that an app account belongs to a person.
type LinkState string

const (
	LinkNone      LinkState = ""          // no account known
	LinkLinked    LinkState = "linked"    // created by dirbridge or matched by anchor
	LinkOrphaned  LinkState = "orphaned"  // the app has it, no person claims it
	LinkDuplicate LinkState = "duplicate" // several candidates; an admin decides
	LinkIgnored   LinkState = "ignored"   // an admin said to leave it alone
)

// AppState is what dirbridge knows about one person in one app: the three
// states of docs/design.md section 2 rule 3, the account link, and the person's
// open requests in order.
type AppState struct {
	App      string `json:"app"`
	PersonID string `json:"person"`
	// Desired is what the mapping says now; nil when the person should have
	// no active account (not assigned, out of scope, deleted).
	Desired *connectors.User `json:"desired,omitempty"`
	// Planned is what the queued requests will achieve; nil for no account.
	Planned *connectors.User `json:"planned,omitempty"`
	// Confirmed is what the app last acknowledged; nil for no account.
	Confirmed *connectors.User `json:"confirmed,omitempty"`
	// OutOfScope is set when the planned deactivation came from leaving the
	// app's scope, so coming back is a Reactivate rather than an Activate.
	OutOfScope bool               `json:"outOfScope,omitempty"`
	Account    connectors.Account `json:"account"`
	Link       LinkState          `json:"link,omitempty"`
	Pending    []uint64           `json:"pending,omitempty"`  // open requests, oldest first
	Inflight   uint64             `json:"inflight,omitempty"` // the request being delivered, 0 if none
	Updated    time.Time          `json:"updated"`
}

// storedState is how AppState is written. Planned is never stored: it is
// the target of the person's last open request, or what the app confirmed
// when nothing is open, and is derived when the record is read (one record
// less to encode on every enqueue). Confirmed is written only when it
// differs from Desired, as it does not in the steady state.
type storedState struct {
	AppState
	ConfirmedIsDesired bool `json:"cd,omitempty"`
}

func encodeState(st *AppState) *storedState {
	out := &storedState{AppState: *st}
	out.Planned = nil
	if st.Confirmed != nil && st.Desired != nil && reflect.DeepEqual(st.Confirmed, st.Desired) {
		out.Confirmed, out.ConfirmedIsDesired = nil, true
	}
	return out
}

// decodeState reads a stored record and derives its planned state.
func (tx *Tx) decodeState(raw []byte) (AppState, error) {
	st, err := decodeRecord(raw)
	if err == nil {
		tx.replan(&st)
	}
	return st, err
}

func decodeRecord(raw []byte) (AppState, error) {
	var s storedState
	if err := json.Unmarshal(raw, &s); err != nil {
		return AppState{}, err
	}
	if s.ConfirmedIsDesired {
		s.Confirmed = cloneUser(s.Desired)
	}
	return s.AppState, nil
}

// State returns the record of (app, person); ok is false when none exists.
func (tx *Tx) State(app, person string) (st AppState, ok bool, err error) {
	st, ok, err = tx.record(app, person)
	if ok && err == nil {
		tx.replan(&st)
	}
	return st, ok, err
}

// record reads the stored record without deriving planned: the queue's own
// operations never need it (and replan after a change where they do).
func (tx *Tx) record(app, person string) (st AppState, ok bool, err error) {
	raw := tx.btx.Bucket(bStates).Get(join(app, person))
	if raw == nil {
		return AppState{App: app, PersonID: person}, false, nil
	}
	if st, err = decodeRecord(raw); err != nil {
		return st, false, fmt.Errorf("outbox: decode state %s/%s: %w", app, person, err)
	}
	return st, true, nil
}

func (tx *Tx) putState(st *AppState) error {
	if err := checkName("app", st.App); err != nil {
		return err
	}
	if err := checkName("person", st.PersonID); err != nil {
		return err
	}
	st.Updated = tx.now
	return tx.putJSON(bStates, join(st.App, st.PersonID), encodeState(st))
}

// SetDesired records what the mapping says now for (app, person).
func (tx *Tx) SetDesired(app, person string, desired *connectors.User) error {
	st, _, err := tx.record(app, person)
	if err != nil {
		return err
	}
	st.Desired = desired
	return tx.putState(&st)
}

// SetOutOfScope records why the planned account is inactive.
func (tx *Tx) SetOutOfScope(app, person string, out bool) error {
	st, _, err := tx.record(app, person)
	if err != nil {
		return err
	}
	st.OutOfScope = out
	return tx.putState(&st)
}

// States calls fn for every (app, person) record of app ("" for all apps).
func (tx *Tx) States(app string, fn func(AppState) error) error {
	c := tx.btx.Bucket(bStates).Cursor()
	var p []byte
	if app != "" {
		p = prefix(app)
	}
	for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		st, err := tx.decodeState(v)
		if err != nil {
			return fmt.Errorf("outbox: decode state %q: %w", k, err)
		}
		if err := fn(st); err != nil {
			return err
		}
	}
	return nil
}

// Request returns a stored request.
func (tx *Tx) Request(id uint64) (Request, error) {
	raw := tx.btx.Bucket(bRequests).Get(u64(id))
	if raw == nil {
		return Request{}, fmt.Errorf("%w: request %d", ErrNotFound, id)
	}
	r, err := decodeRequest(raw)
	if err != nil {
		return r, fmt.Errorf("outbox: decode request %d: %w", id, err)
	}
	return r, nil
}

// requestAndState loads a request and its person's record (without the
// derived planned state, which the queue's own operations do not need).
func (tx *Tx) requestAndState(id uint64) (Request, AppState, error) {
	r, err := tx.Request(id)
	if err != nil {
		return r, AppState{}, err
	}
	st, _, err := tx.record(r.App, r.PersonID)
	return r, st, err
}

// storedRequest is how a Request is written: the payload sent is usually
// the target itself, and then only a flag says so.
type storedRequest struct {
	Request
	SentIsTarget bool `json:"st,omitempty"`
}

func encodeRequest(r *Request) *storedRequest {
	out := &storedRequest{Request: *r}
	if r.Sent != nil && r.Target != nil && reflect.DeepEqual(r.Sent, r.Target) {
		out.Sent, out.SentIsTarget = nil, true
	}
	return out
}

func decodeRequest(raw []byte) (Request, error) {
	var s storedRequest
	if err := json.Unmarshal(raw, &s); err != nil {
		return Request{}, err
	}
	if s.SentIsTarget {
		s.Sent = cloneUser(s.Target)
	}
	return s.Request, nil
}

// saveRequest stores r and keeps the per-app state counters in step.
func (tx *Tx) saveRequest(r *Request, was State) error {
	if was != r.State {
		if was != "" {
			if err := tx.count(r.App, was, -1); err != nil {
				return err
			}
		}
		if err := tx.count(r.App, r.State, +1); err != nil {
			return err
		}
	}
	return tx.putJSON(bRequests, u64(r.ID), encodeRequest(r))
}

func (tx *Tx) count(app string, s State, delta int64) error {
	b := tx.btx.Bucket(bCounts)
	k := join(app, string(s))
	n := int64(getU64(b.Get(k))) + delta
	if n <= 0 {
		return b.Delete(k)
	}
	return b.Put(k, u64(uint64(n)))
}

// Counts returns the number of requests per state for app.
func (tx *Tx) Counts(app string) map[State]int {
	out := map[State]int{}
	c := tx.btx.Bucket(bCounts).Cursor()
	p := prefix(app)
	for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		out[State(k[len(p):])] = int(getU64(v))
	}
	return out
}

func (tx *Tx) putJSON(bucket, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("outbox: encode %s %q: %w", bucket, key, err)
	}
	return tx.btx.Bucket(bucket).Put(key, raw)
}

func cloneUser(u *connectors.User) *connectors.User {
	if u == nil {
		return nil
	}
	c := *u
	if u.Attributes != nil {
		c.Attributes = make(map[string]any, len(u.Attributes))
		for k, v := range u.Attributes {
			c.Attributes[k] = v
		}
	}
	c.PermissionSets = append([]string(nil), u.PermissionSets...)
	c.Groups = append([]string(nil), u.Groups...)
	return &c
}
