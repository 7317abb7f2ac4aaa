package outbox

import (
	"bytes"
	"fmt"
	"sort"
	"time"

	json "github.com/goccy/go-json"

	"github.com/dirbridge/dirbridge/connectors"
)

// A batch is everything one cause planned: one directory poll page, one full
// read, one mapping re-plan, one timer round, one operator action. The
// mass-change guard decides per batch and per app, after it has seen the whole
// batch (docs/design.md section 4): requests enqueued into a batch are parked (New,
// but never handed out) until the batch is closed and the guard has decided
// for their app. A released app's requests then flow; a held app's requests
// wait for an approver, all of them, never only the tail past a limit.
//
// A batch spans transactions (a full read plans in bounded chunks), so it
// lives in the store: a crash leaves it open, and the agent closes the
// batches nobody owns any more when it starts, so nothing stays parked.

// Batch is one cause's planned requests, per app.
type Batch struct {
	ID     uint64               `json:"id"`
	Cause  string               `json:"cause"`
	Opened time.Time            `json:"opened"`
	Closed time.Time            `json:"closed,omitzero"`
	Apps   map[string]*BatchApp `json:"apps,omitempty"`
}

// BatchApp is a batch's part in one app.
type BatchApp struct {
	// Kinds counts the requests the guard limits, by kind ("deactivate",
	// "create", "identifier").
	Kinds    map[string]int `json:"kinds,omitempty"`
	Requests int            `json:"requests"`
	// Decision is empty while the batch is open, then Released or Held.
	Decision BatchDecision `json:"decision,omitempty"`
	Reason   string        `json:"reason,omitempty"`
	// Settled is set once every parked request has been released or held.
	Settled bool `json:"settled,omitempty"`
}

// BatchDecision is the guard's verdict on a batch's part in one app.
type BatchDecision string

const (
	BatchReleased BatchDecision = "released"
	BatchHeld     BatchDecision = "held"
)

// Open reports whether the batch still takes requests.
func (b *Batch) Open() bool { return b.Closed.IsZero() }

// Settled reports whether the batch is closed and every app's part settled.
func (b *Batch) Settled() bool {
	if b.Open() {
		return false
	}
	for _, ba := range b.Apps {
		if !ba.Settled {
			return false
		}
	}
	return true
}

// OpenBatch starts a batch for cause and returns its id.
func (tx *Tx) OpenBatch(cause string) (uint64, error) {
	id, err := tx.btx.Bucket(bBatches).NextSequence()
	if err != nil {
		return 0, err
	}
	b := Batch{ID: id, Cause: cause, Opened: tx.now, Apps: map[string]*BatchApp{}}
	return id, tx.putBatch(&b)
}

// Batch returns a stored batch.
func (tx *Tx) Batch(id uint64) (Batch, bool, error) {
	raw := tx.btx.Bucket(bBatches).Get(u64(id))
	if raw == nil {
		return Batch{}, false, nil
	}
	var b Batch
	if err := json.Unmarshal(raw, &b); err != nil {
		return Batch{}, false, fmt.Errorf("outbox: decode batch %d: %w", id, err)
	}
	if b.Apps == nil {
		b.Apps = map[string]*BatchApp{}
	}
	return b, true, nil
}

func (tx *Tx) putBatch(b *Batch) error {
	delete(tx.batches, b.ID)
	return tx.putJSON(bBatches, u64(b.ID), b)
}

// Batches lists the batches that are open or not yet settled, oldest first,
// then (newest first) up to recent settled ones that held something.
func (tx *Tx) Batches(recent int) ([]Batch, error) {
	var active, held []Batch
	c := tx.btx.Bucket(bBatches).Cursor()
	for k, v := c.Last(); k != nil; k, v = c.Prev() {
		var b Batch
		if err := json.Unmarshal(v, &b); err != nil {
			return nil, fmt.Errorf("outbox: decode batch %d: %w", getU64(k), err)
		}
		switch {
		case !b.Settled():
			active = append(active, b)
		case len(held) < recent && b.heldAny():
			held = append(held, b)
		}
	}
	sort.Slice(active, func(i, j int) bool { return active[i].ID < active[j].ID })
	return append(active, held...), nil
}

func (b *Batch) heldAny() bool {
	for _, ba := range b.Apps {
		if ba.Decision == BatchHeld {
			return true
		}
	}
	return false
}

// enterBatch parks r in its batch: counted, indexed, never handed out before
// the batch is decided.
func (tx *Tx) enterBatch(r *Request, guardKind string) error {
	b, ok, err := tx.Batch(r.Batch)
	if err != nil {
		return err
	}
	if !ok || !b.Open() {
		return fmt.Errorf("%w: batch %d is not open", ErrInvalid, r.Batch)
	}
	ba := b.Apps[r.App]
	if ba == nil {
		ba = &BatchApp{Kinds: map[string]int{}}
		b.Apps[r.App] = ba
	}
	ba.Requests++
	if guardKind != "" {
		if ba.Kinds == nil {
			ba.Kinds = map[string]int{}
		}
		ba.Kinds[guardKind]++
	}
	if err := tx.putBatch(&b); err != nil {
		return err
	}
	return tx.btx.Bucket(bBatchReqs).Put(batchReqKey(r.Batch, r.App, r.ID), nil)
}

func batchReqKey(batch uint64, app string, id uint64) []byte {
	k := append(u64(batch), prefix(app)...)
	return append(k, u64(id)...)
}

// parked reports whether r waits for its batch's decision.
func (tx *Tx) parked(r *Request) bool {
	if r.Batch == 0 || r.State != StateNew {
		return false
	}
	d, ok := tx.batches[r.Batch]
	if !ok {
		b, found, err := tx.Batch(r.Batch)
		d = map[string]BatchDecision{}
		if err == nil && found {
			for app, ba := range b.Apps {
				d[app] = ba.Decision
			}
		}
		if tx.batches == nil {
			tx.batches = map[uint64]map[string]BatchDecision{}
		}
		tx.batches[r.Batch] = d
	}
	return d[r.App] != BatchReleased
}

// CloseBatch ends a batch: decide is asked once per app with the batch's
// counts and returns why that app's part must be held ("" releases it). The
// parked requests are released or held by SettleBatch.
func (tx *Tx) CloseBatch(id uint64, decide func(b *Batch, app string, part BatchApp) string) (Batch, error) {
	b, ok, err := tx.Batch(id)
	if err != nil || !ok {
		return b, err
	}
	if !b.Open() {
		return b, nil
	}
	b.Closed = tx.now
	if len(b.Apps) == 0 { // it planned nothing: nothing to decide or to keep
		delete(tx.batches, id)
		return b, tx.btx.Bucket(bBatches).Delete(u64(id))
	}
	apps := make([]string, 0, len(b.Apps))
	for app := range b.Apps {
		apps = append(apps, app)
	}
	sort.Strings(apps)
	for _, app := range apps {
		ba := b.Apps[app]
		ba.Decision, ba.Reason = BatchReleased, decide(&b, app, *ba)
		if ba.Reason != "" {
			ba.Decision = BatchHeld
		}
	}
	return b, tx.putBatch(&b)
}

// SettleBatch releases or holds up to max parked requests of a closed batch
// (one bounded transaction each, at any size) and reports whether the whole
// batch is settled.
func (tx *Tx) SettleBatch(id uint64, max int) (bool, error) {
	b, ok, err := tx.Batch(id)
	if err != nil || !ok {
		return true, err
	}
	if b.Open() {
		return false, fmt.Errorf("%w: batch %d is still open", ErrInvalid, id)
	}
	done := 0
	for app, ba := range b.Apps {
		if ba.Settled {
			continue
		}
		n, err := tx.settlePart(&b, app, ba, max-done)
		if err != nil {
			return false, err
		}
		if done += n; done >= max {
			return false, tx.putBatch(&b) // there may be more: the next call looks
		}
		ba.Settled = true
	}
	return true, tx.putBatch(&b)
}

// settlePart settles up to max requests of one app's part, deleting their
// index entries as it goes so a later call continues where this one ended.
func (tx *Tx) settlePart(b *Batch, app string, ba *BatchApp, max int) (int, error) {
	p := append(u64(b.ID), prefix(app)...)
	var ids []uint64
	c := tx.btx.Bucket(bBatchReqs).Cursor()
	for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p) && len(ids) < max; k, _ = c.Next() {
		ids = append(ids, getU64(k[len(p):]))
	}
	for _, id := range ids {
		if err := tx.settleOne(id, ba); err != nil {
			return 0, err
		}
		if err := tx.btx.Bucket(bBatchReqs).Delete(batchReqKey(b.ID, app, id)); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

func (tx *Tx) settleOne(id uint64, ba *BatchApp) error {
	r, st, err := tx.requestAndState(id)
	if err != nil {
		return err
	}
	if r.State != StateNew {
		return nil // superseded, canceled or handled by an operator meanwhile
	}
	if ba.Decision == BatchHeld {
		r.State, r.HeldBecause, r.Updated = StateAwaitingApproval, ba.Reason, tx.now
		if err := tx.saveRequest(&r, StateNew); err != nil {
			return err
		}
		return tx.log(&r, EventHeld, r.HeldBecause, "")
	}
	return tx.promote(&st)
}

// DecideBatch approves or denies the held requests of one app's part of a
// batch, or the subset match selects (nil: all), as who. It returns how many.
func (tx *Tx) DecideBatch(id uint64, app, who string, approve bool, match func(Request) bool) (int, error) {
	var ids []uint64
	if err := tx.heldIn(id, app, func(r Request) {
		if match == nil || match(r) {
			ids = append(ids, r.ID)
		}
	}); err != nil {
		return 0, err
	}
	for _, rid := range ids {
		var err error
		if approve {
			_, err = tx.Approve(rid, who)
		} else {
			_, err = tx.Deny(rid, who)
		}
		if err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// BatchRequests lists the requests of app still held in batch id.
func (tx *Tx) BatchRequests(id uint64, app string) ([]Request, error) {
	var out []Request
	err := tx.heldIn(id, app, func(r Request) { out = append(out, r) })
	return out, err
}

func (tx *Tx) heldIn(id uint64, app string, fn func(Request)) error {
	held, err := tx.ListRequests(Filter{App: app, States: []State{StateAwaitingApproval}, Oldest: true})
	if err != nil {
		return err
	}
	for _, r := range held {
		if r.Batch == id {
			fn(r)
		}
	}
	return nil
}

// ActiveAccounts returns how many accounts of app are confirmed active,
// maintained in the same transaction as every confirmation (the guard's
// percentage limit is right from the first sync on).
func (tx *Tx) ActiveAccounts(app string) int {
	return int(getU64(tx.btx.Bucket(bActive).Get([]byte(app))))
}

// setConfirmed changes what the app confirmed and keeps the active count.
func (tx *Tx) setConfirmed(st *AppState, u *connectors.User) error {
	was, now := hasActiveAccount(st.Confirmed), hasActiveAccount(u)
	st.Confirmed = u
	if was == now {
		return nil
	}
	b := tx.btx.Bucket(bActive)
	n := int64(getU64(b.Get([]byte(st.App))))
	if now {
		n++
	} else {
		n--
	}
	return b.Put([]byte(st.App), u64(uint64(max(n, 0))))
}

// RecountActive recounts every app's active accounts from the records and
// corrects the maintained counts; it returns the apps whose count was wrong
// with the value it had.
func (tx *Tx) RecountActive() (map[string][2]int, error) {
	counts := map[string]int{}
	c := tx.btx.Bucket(bStates).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		st, err := decodeRecord(v)
		if err != nil {
			return nil, err
		}
		if hasActiveAccount(st.Confirmed) {
			counts[st.App]++
		}
	}
	wrong := map[string][2]int{}
	b := tx.btx.Bucket(bActive)
	_ = b.ForEach(func(k, _ []byte) error {
		if _, ok := counts[string(k)]; !ok {
			counts[string(k)] = 0
		}
		return nil
	})
	for app, n := range counts {
		if had := tx.ActiveAccounts(app); had != n {
			wrong[app] = [2]int{had, n}
			if err := b.Put([]byte(app), u64(uint64(n))); err != nil {
				return nil, err
			}
		}
	}
	return wrong, nil
}

// GuardAdmitted returns how many requests of kind the guard admitted for app
// since since.
func (tx *Tx) GuardAdmitted(app, kind string, since time.Time) int {
	p := prefix(app, kind)
	from := append(append([]byte(nil), p...), timeKey(since)...)
	n := 0
	c := tx.btx.Bucket(bGuard).Cursor()
	for k, v := c.Seek(from); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		n += int(getU64(v))
	}
	return n
}

// GuardAdmit records that the guard admitted n requests of kind for app from
// batch, at the transaction's time.
func (tx *Tx) GuardAdmit(app, kind string, batch uint64, n int) error {
	k := append(append(prefix(app, kind), timeKey(tx.now)...), u64(batch)...)
	return tx.btx.Bucket(bGuard).Put(k, u64(uint64(n)))
}

// PruneGuard forgets admissions older than before.
func (tx *Tx) PruneGuard(before time.Time) error {
	b := tx.btx.Bucket(bGuard)
	var old [][]byte
	_ = b.ForEach(func(k, _ []byte) error {
		if len(k) >= 16 && getU64(k[len(k)-16:len(k)-8]) < uint64(before.UnixNano()) {
			old = append(old, append([]byte(nil), k...))
		}
		return nil
	})
	for _, k := range old {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// PruneBatches forgets settled batches closed before before (their requests
// keep the batch id; the provisioning log keeps the decisions).
func (tx *Tx) PruneBatches(before time.Time) (int, error) {
	var old [][]byte
	c := tx.btx.Bucket(bBatches).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		var b Batch
		if err := json.Unmarshal(v, &b); err != nil {
			return 0, fmt.Errorf("outbox: decode batch %d: %w", getU64(k), err)
		}
		if b.Settled() && b.Closed.Before(before) {
			old = append(old, append([]byte(nil), k...))
		}
	}
	for _, k := range old {
		if err := tx.btx.Bucket(bBatches).Delete(k); err != nil {
			return 0, err
		}
	}
	return len(old), nil
}
