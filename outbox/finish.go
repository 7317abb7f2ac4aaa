package outbox

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/dirbridge/dirbridge/connectors"
)

// maxErrorText bounds what is kept of an app's error message.
const maxErrorText = 1024

// Complete records that the app carried out a handed-out request and
// answered with acct: the sent payload becomes the confirmed state, the
// account link is updated, and the person's next request becomes available.
func (tx *Tx) Complete(id uint64, acct connectors.Account) error {
	r, st, err := tx.inflight(id)
	if err != nil {
		return err
	}
	if err := r.moveTo(StateCompleted, tx.now); err != nil {
		return err
	}
	r.ExternalID, r.UserName, r.LastError, r.ErrorClass = acct.ExternalID, acct.UserName, "", ""
	if err := tx.saveRequest(&r, StateProvisioning); err != nil {
		return err
	}
	confirmed := cloneUser(r.Sent)
	if acct.Status == connectors.StatusDeleted {
		confirmed = nil // the app removed the account; coming back is a Create
	}
	if err := tx.setConfirmed(&st, confirmed); err != nil {
		return err
	}
	if err := tx.link(&st, acct); err != nil {
		return err
	}
	if err := tx.log(&r, EventCompleted, string(acct.Status), ""); err != nil {
		return err
	}
	return tx.finish(&st, &r)
}

// link updates the stored account and the external-id index.
func (tx *Tx) link(st *AppState, acct connectors.Account) error {
	if acct.ExternalID == "" {
		acct.ExternalID = st.Account.ExternalID
	}
	if acct.UserName == "" {
		acct.UserName = st.Account.UserName
	}
	if old := st.Account.ExternalID; old != "" && old != acct.ExternalID {
		if err := tx.btx.Bucket(bExtIDs).Delete(join(st.App, old)); err != nil {
			return err
		}
	}
	st.Account = acct
	if acct.ExternalID == "" {
		return nil
	}
	st.Link = LinkLinked
	return tx.btx.Bucket(bExtIDs).Put(join(st.App, acct.ExternalID), []byte(st.PersonID))
}

// NoteAccount records the account as the app last showed it without
// completing anything: a Salesforce deactivation that was refused after the
// freeze went through leaves the account Frozen, and the status page must
// say so while the request retries.
func (tx *Tx) NoteAccount(app, person string, acct connectors.Account) error {
	if acct.ExternalID == "" && acct.Status == "" {
		return nil
	}
	st, _, err := tx.record(app, person)
	if err != nil {
		return err
	}
	if err := tx.link(&st, acct); err != nil {
		return err
	}
	return tx.putState(&st)
}

// PersonByExternalID returns the person linked to an app account.
func (tx *Tx) PersonByExternalID(app, externalID string) (string, bool) {
	v := tx.btx.Bucket(bExtIDs).Get(join(app, externalID))
	return string(v), v != nil
}

// finish removes a request that reached a terminal state from the head of
// its person's queue and makes the next one available.
func (tx *Tx) finish(st *AppState, r *Request) error {
	if err := tx.btx.Bucket(bInflight).Delete(u64(r.ID)); err != nil {
		return err
	}
	if st.Inflight == r.ID {
		st.Inflight = 0
	}
	st.Pending = removeID(st.Pending, r.ID)
	if err := tx.promote(st); err != nil {
		return err
	}
	return tx.putState(st)
}

func removeID(ids []uint64, id uint64) []uint64 {
	out := ids[:0:0]
	for _, x := range ids {
		if x != id {
			out = append(out, x)
		}
	}
	return out
}

// RetryPolicy decides what happens after a failed attempt.
type RetryPolicy struct {
	MaxAttempts  int                             // Retryable failures beyond this become Failed; default 10
	Backoff      func(attempt int) time.Duration // default: exponential from 2 s, capped at 1 h
	CapacityWait time.Duration                   // how long a licence shortage pauses a request; default 15 min
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 10
	}
	if p.Backoff == nil {
		p.Backoff = DefaultBackoff
	}
	if p.CapacityWait <= 0 {
		p.CapacityWait = 15 * time.Minute
	}
	return p
}

// DefaultBackoff: 2 s, 4 s, 8 s ... capped at one hour.
func DefaultBackoff(attempt int) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	return min(2*time.Second<<min(attempt-1, 12), time.Hour)
}

// Fail records a failed attempt, classified by connectors.ClassOf: a
// rate-limited or capacity failure waits and retries without using up
// attempts; a retryable one backs off until MaxAttempts; a permanent,
// conflict or not-found one fails at once and waits for an operator. A Failed
// request stays at the head of its person's queue (later requests of that
// person wait) except that a Deactivate or Freeze supersedes a Failed Update.
func (tx *Tx) Fail(id uint64, cause error, policy RetryPolicy) (Request, error) {
	policy = policy.withDefaults()
	r, st, err := tx.inflight(id)
	if err != nil {
		return r, err
	}
	class, after := connectors.ClassOf(cause)
	r.LastError, r.ErrorClass = truncate(cause.Error(), maxErrorText), class.String()
	next, final := tx.now, false
	switch class {
	case connectors.RateLimited:
		next = tx.now.Add(max(after, time.Second))
		r.Attempts-- // the app never looked at it
	case connectors.Capacity:
		next = tx.now.Add(max(after, policy.CapacityWait))
	case connectors.Retryable:
		final = r.Attempts >= policy.MaxAttempts
		next = tx.now.Add(max(after, policy.Backoff(r.Attempts)))
	default: // Permanent, Conflict, NotFound
		final = true
	}
	to, ev := StateRetrying, EventRetry
	if final {
		to, ev = StateFailed, EventFailed
	}
	if err := r.moveTo(to, tx.now); err != nil {
		return r, err
	}
	r.NextAttempt = next
	r.Verify = r.Verify || r.Op == connectors.OpCreate // the attempt may have reached the app
	if err := tx.saveRequest(&r, StateProvisioning); err != nil {
		return r, err
	}
	if err := tx.log(&r, ev, r.LastError, ""); err != nil {
		return r, err
	}
	return r, tx.finishAttempt(&st, &r)
}

// finishAttempt ends an attempt that leaves the request open.
func (tx *Tx) finishAttempt(st *AppState, r *Request) error {
	if err := tx.btx.Bucket(bInflight).Delete(u64(r.ID)); err != nil {
		return err
	}
	st.Inflight = 0
	if err := tx.promote(st); err != nil {
		return err
	}
	return tx.putState(st)
}

// inflight loads a request that must be in Provisioning, with its state.
func (tx *Tx) inflight(id uint64) (Request, AppState, error) {
	r, st, err := tx.requestAndState(id)
	if err == nil && r.State != StateProvisioning {
		err = fmt.Errorf("%w: request %d is %s, not Provisioning", ErrIllegalTransition, id, r.State)
	}
	return r, st, err
}

// recoverInflight runs on Open: requests a crash left in Provisioning may or
// may not have reached the app. They are retried with Verify set, so the
// connector looks the account up before acting.
func (tx *Tx) recoverInflight() error {
	var ids []uint64
	c := tx.btx.Bucket(bInflight).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		ids = append(ids, getU64(k))
	}
	for _, id := range ids {
		r, st, err := tx.inflight(id)
		if errors.Is(err, ErrIllegalTransition) {
			if err := tx.btx.Bucket(bInflight).Delete(u64(id)); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		if err := r.moveTo(StateRetrying, tx.now); err != nil {
			return err
		}
		r.Verify, r.NextAttempt = true, tx.now
		r.LastError = "the agent stopped while this request was being delivered; the account is looked up before any resend"
		if err := tx.saveRequest(&r, StateProvisioning); err != nil {
			return err
		}
		if err := tx.log(&r, EventRecovered, r.LastError, ""); err != nil {
			return err
		}
		if err := tx.finishAttempt(&st, &r); err != nil {
			return err
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// ForgetAccounts drops what dirbridge believes about the accounts of app
// that match: no confirmed state, no link. The next plan treats those people
// as having no account. It returns how many were forgotten.
func (tx *Tx) ForgetAccounts(app string, match func(AppState) bool) (int, error) {
	var forget []AppState
	p := prefix(app)
	c := tx.btx.Bucket(bStates).Cursor()
	for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		st, err := decodeRecord(v)
		if err != nil {
			return 0, err
		}
		if match(st) {
			forget = append(forget, st)
		}
	}
	for i := range forget {
		st := &forget[i]
		if id := st.Account.ExternalID; id != "" {
			if err := tx.btx.Bucket(bExtIDs).Delete(join(app, id)); err != nil {
				return 0, err
			}
		}
		if err := tx.setConfirmed(st, nil); err != nil {
			return 0, err
		}
		st.Account, st.Link, st.OutOfScope = connectors.Account{}, LinkNone, false
		if err := tx.putState(st); err != nil {
			return 0, err
		}
	}
	return len(forget), nil
}
