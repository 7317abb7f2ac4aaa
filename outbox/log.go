package outbox

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	json "github.com/goccy/go-json"

	"github.com/dirbridge/dirbridge/connectors"
)

// Event names a provisioning log entry.
type Event string

const (
	EventHeld              Event = "held"
	EventAttempt           Event = "attempt"
	EventCompleted         Event = "completed"
	EventRetry             Event = "retry"
	EventFailed            Event = "failed"
	EventRecovered         Event = "recovered"
	EventSuperseded        Event = "superseded"
	EventApproved          Event = "approved"
	EventDenied            Event = "denied"
	EventCanceled          Event = "canceled"
	EventRetried           Event = "retried"
	EventManuallyCompleted Event = "manually-completed"
)

// LogEntry is one line of the append-only provisioning log: every attempt
// and its outcome, and every operator decision with who made it.
type LogEntry struct {
	Seq       uint64               `json:"seq"`
	Time      time.Time            `json:"time"`
	RequestID uint64               `json:"request"`
	App       string               `json:"app"`
	PersonID  string               `json:"person"`
	Op        connectors.Operation `json:"op"`
	Event     Event                `json:"event"`
	State     State                `json:"state"`
	Attempt   int                  `json:"attempt,omitempty"`
	Detail    string               `json:"detail,omitempty"`
	Actor     string               `json:"actor,omitempty"`
}

func (tx *Tx) log(r *Request, ev Event, detail, actor string) error {
	b := tx.btx.Bucket(bLog)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	e := LogEntry{Seq: seq, Time: tx.now, RequestID: r.ID, App: r.App, PersonID: r.PersonID, Op: r.Op,
		Event: ev, State: r.State, Attempt: r.Attempts, Detail: detail, Actor: actor}
	return tx.putJSON(bLog, u64(seq), &e)
}

// Log calls fn for log entries from seq onwards (0: from the start), oldest
// first, until fn returns false.
func (tx *Tx) Log(from uint64, fn func(LogEntry) bool) error {
	c := tx.btx.Bucket(bLog).Cursor()
	for k, v := c.Seek(u64(from)); k != nil; k, v = c.Next() {
		var e LogEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("outbox: decode log entry %d: %w", getU64(k), err)
		}
		if !fn(e) {
			return nil
		}
	}
	return nil
}

// RequestLog returns the log entries of request r, oldest first. The log is
// appended in time order, so it is read backwards only as far as the
// request's creation, not from the beginning of the retention period.
func (tx *Tx) RequestLog(r Request) ([]LogEntry, error) {
	out := []LogEntry{}
	c := tx.btx.Bucket(bLog).Cursor()
	for k, v := c.Last(); k != nil; k, v = c.Prev() {
		var e LogEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return nil, fmt.Errorf("outbox: decode log entry %d: %w", getU64(k), err)
		}
		if e.Time.Before(r.Created) {
			break
		}
		if e.RequestID == r.ID {
			out = append(out, e)
		}
	}
	slices.Reverse(out)
	return out, nil
}

// ListRequests returns the requests that match f, newest first unless
// f.Oldest. A person filter reads the person's history index.
func (tx *Tx) ListRequests(f Filter) ([]Request, error) {
	var out []Request
	visit := func(raw []byte) (bool, error) {
		r, err := decodeRequest(raw)
		if err != nil {
			return false, fmt.Errorf("outbox: decode request: %w", err)
		}
		if f.match(&r) {
			out = append(out, r)
		}
		return f.Limit > 0 && len(out) >= f.Limit, nil
	}
	if f.App != "" && f.PersonID != "" {
		return out, tx.scanHistory(f, visit)
	}
	reqs := tx.btx.Bucket(bRequests)
	c := reqs.Cursor()
	first, next := c.Last, c.Prev
	if f.Oldest {
		first, next = c.First, c.Next
	}
	for k, v := first(); k != nil; k, v = next() {
		if done, err := visit(v); err != nil || done {
			return out, err
		}
	}
	return out, nil
}

func (tx *Tx) scanHistory(f Filter, visit func([]byte) (bool, error)) error {
	p := prefix(f.App, f.PersonID)
	var ids [][]byte
	c := tx.btx.Bucket(bHistory).Cursor()
	for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
		ids = append(ids, append([]byte(nil), k[len(p):]...))
	}
	reqs := tx.btx.Bucket(bRequests)
	for i := range ids {
		id := ids[len(ids)-1-i]
		if f.Oldest {
			id = ids[i]
		}
		if raw := reqs.Get(id); raw != nil {
			if done, err := visit(raw); err != nil || done {
				return err
			}
		}
	}
	return nil
}

// Prune deletes log entries older than before and terminal requests last
// changed before it (with their history entries). Open requests are never
// pruned. It returns how many log entries and requests were removed.
func (tx *Tx) Prune(before time.Time) (logs, requests int, err error) {
	c := tx.btx.Bucket(bLog).Cursor()
	for k, v := c.First(); k != nil; k, v = c.First() {
		var e LogEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return logs, requests, fmt.Errorf("outbox: decode log entry %d: %w", getU64(k), err)
		}
		if !e.Time.Before(before) {
			break // the log is appended in time order
		}
		if err := c.Delete(); err != nil {
			return logs, requests, err
		}
		logs++
	}
	requests, err = tx.pruneRequests(before)
	return logs, requests, err
}

func (tx *Tx) pruneRequests(before time.Time) (int, error) {
	var old []Request
	reqs := tx.btx.Bucket(bRequests)
	c := reqs.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		r, err := decodeRequest(v)
		if err != nil {
			return 0, fmt.Errorf("outbox: decode request %d: %w", getU64(k), err)
		}
		if r.State.Terminal() && r.Updated.Before(before) {
			old = append(old, r)
		}
	}
	for i := range old {
		r := &old[i]
		if err := reqs.Delete(u64(r.ID)); err != nil {
			return 0, err
		}
		if err := tx.btx.Bucket(bHistory).Delete(append(prefix(r.App, r.PersonID), u64(r.ID)...)); err != nil {
			return 0, err
		}
		if err := tx.count(r.App, r.State, -1); err != nil {
			return 0, err
		}
	}
	return len(old), nil
}
