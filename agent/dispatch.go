package agent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/dirbridge/dirbridge/config"
	"github.com/dirbridge/dirbridge/connectors"
	"github.com/dirbridge/dirbridge/outbox"
)

// appRunner delivers one app's requests: up to Workers at a time, each
// person's in order (the outbox hands out one per person), terminations
// first. It pauses the whole app on a rate limit, pauses Creates and
// Activates on a licence shortage, and quarantines an app whose requests
// keep failing; all of these resume by themselves.
type appRunner struct {
	a      *Agent
	name   string
	cfg    config.App
	conn   connectors.Connector
	log    zerolog.Logger
	policy outbox.RetryPolicy
	wake   chan struct{}

	recording   sync.WaitGroup // outcomes being committed
	recordSlots chan struct{}  // bounds them

	mu          sync.Mutex
	pausedUntil time.Time // rate limited or quarantined: nothing is sent
	pauseReason string
	capacityTil time.Time // licence shortage: no Create/Activate/Reactivate
	failStreak  int
	inflight    int
	delivered   int
	failed      int
}

// quarantineAfter consecutive retryable failures pause the app.
const quarantineAfter = 5

func newAppRunner(a *Agent, name string, cfg config.App, c connectors.Connector) *appRunner {
	return &appRunner{a: a, name: name, cfg: cfg, conn: c, wake: make(chan struct{}, 1), recordSlots: make(chan struct{}, maxRecording),
		log:    a.log.With().Str("component", "dispatcher").Str("app", name).Logger(),
		policy: outbox.RetryPolicy{MaxAttempts: cfg.MaxAttempts}}
}

func (r *appRunner) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// maxBatch bounds one batched call; Salesforce sObject Collections take at
// most 200 records.
const maxBatch = 200

// prefetchPerWorker is how many claimed units may wait per worker, so a
// worker never waits for a claim transaction. A crash leaves them in
// Provisioning, which recovery turns into verified retries.
const prefetchPerWorker = 8

// maxRecording bounds outcomes being committed in the background.
const maxRecording = 1024

func (r *appRunner) run(ctx context.Context) error {
	batcher, batched := r.conn.(connectors.Batcher)
	queue := make(chan []outbox.Work, r.cfg.Workers*prefetchPerWorker)
	var workers sync.WaitGroup
	for i := 0; i < r.cfg.Workers; i++ {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for chunk := range queue {
				r.deliver(ctx, chunk, batcher)
				r.finished()
				r.poke()
			}
		}()
	}
	defer func() {
		close(queue)
		workers.Wait()
		r.recording.Wait()
	}()
	capacity := cap(queue)
	if batched {
		capacity = r.cfg.Workers // a batch is up to 200 requests: no prefetch beyond one per worker
	}
	for ctx.Err() == nil {
		units, err := r.claim(ctx, batched, capacity)
		if err != nil && ctx.Err() == nil {
			r.log.Error().Err(err).Msg("claiming requests")
		}
		for _, u := range units {
			queue <- u // never blocks: claim takes no more than the free places
		}
		select {
		case <-ctx.Done():
		case <-r.wake:
		case <-time.After(r.sleep()):
		}
	}
	return nil
}

// chunks splits claimed work into one unit per worker: single requests, or
// for a batching connector up to maxBatch requests per call.
func chunks(work []outbox.Work, batched bool, workers int) [][]outbox.Work {
	size := 1
	if batched {
		size = max(1, min(maxBatch, (len(work)+workers-1)/max(workers, 1)))
	}
	var out [][]outbox.Work
	for i := 0; i < len(work); i += size {
		out = append(out, work[i:min(i+size, len(work))])
	}
	return out
}

func (r *appRunner) finished() {
	r.mu.Lock()
	r.inflight--
	r.mu.Unlock()
}

// sleep is how long to wait when nothing else wakes the runner.
func (r *appRunner) sleep() time.Duration {
	wait := time.Minute
	now := r.a.now()
	r.mu.Lock()
	if r.pausedUntil.After(now) {
		wait = min(wait, r.pausedUntil.Sub(now))
	}
	r.mu.Unlock()
	_ = r.a.store.View(func(tx *outbox.Tx) error {
		if next, ok := tx.NextDue(r.name); ok {
			wait = min(wait, max(next.Sub(now), 10*time.Millisecond))
		}
		return nil
	})
	return wait
}

// claim hands out work for the free workers. While the app is paused (rate
// limited, quarantined) only terminations go out: each still follows its
// own retry schedule, and a termination is never stuck behind a pause.
// During a licence shortage Creates and Activates stay queued.
func (r *appRunner) claim(ctx context.Context, batched bool, capacity int) ([][]outbox.Work, error) {
	now := r.a.now()
	r.mu.Lock()
	free := capacity - r.inflight
	if free < capacity/2 {
		free = 0 // refill in bulk: one claim transaction for many requests
	}
	paused := r.pausedUntil.After(now)
	licences := r.capacityTil.After(now)
	r.mu.Unlock()
	if free <= 0 {
		return nil, nil
	}
	skip := func(op connectors.Operation) bool {
		if paused && !op.Urgent() {
			return true
		}
		return licences && (op == connectors.OpCreate || op == connectors.OpActivate || op == connectors.OpReactivate)
	}
	n := free
	if batched {
		n = free * maxBatch
	}
	var work []outbox.Work
	err := r.a.store.Update(ctx, func(tx *outbox.Tx) error {
		var err error
		work, err = tx.Claim(r.name, n, now, skip)
		return err
	})
	if err != nil {
		return nil, err
	}
	units := chunks(work, batched, r.cfg.Workers)
	r.mu.Lock()
	r.inflight += len(units)
	r.mu.Unlock()
	return units, nil
}

// deliver carries out a chunk of requests (one call for a batching
// connector) and records each outcome. Outcomes are recorded even when the
// agent is stopping (a context that is not canceled), so an answer the app
// gave is never lost.
func (r *appRunner) deliver(ctx context.Context, chunk []outbox.Work, b connectors.Batcher) {
	results := make([]connectors.Result, len(chunk))
	var send []connectors.Request
	var at []int
	for i, w := range chunk {
		if w.Call.Op == connectors.OpUpdate && nothingToSend(w.Call) {
			results[i] = connectors.Result{Account: w.Call.Account}
			continue
		}
		send, at = append(send, w.Call), append(at, i)
	}
	var got []connectors.Result
	if b != nil && len(send) > 0 {
		if err := recovered(func() error { got = b.ApplyBatch(ctx, send); return nil }); err != nil {
			got = nil // every request of the batch gets the error below
			for range send {
				got = append(got, connectors.Result{Err: err})
			}
		}
	} else {
		for _, c := range send {
			var acct connectors.Account
			err := recovered(func() (err error) { acct, err = r.conn.Apply(ctx, c); return err })
			got = append(got, connectors.Result{Account: acct, Err: err})
		}
	}
	for j, i := range at {
		if j < len(got) {
			results[i] = got[j]
		} else {
			results[i] = connectors.Result{Err: errors.New("the connector returned fewer results than requests")}
		}
	}
	for i, w := range chunk {
		r.settle(ctx, w, results[i])
	}
}

// settle records one outcome.
func (r *appRunner) settle(ctx context.Context, w outbox.Work, res connectors.Result) {
	acct, err := res.Account, res.Err
	if class, _ := connectors.ClassOf(err); err != nil && class == connectors.NotFound &&
		(w.Call.Op == connectors.OpDeactivate || w.Call.Op == connectors.OpFreeze) {
		// The account is already gone: a termination has nothing left to do.
		acct, err = connectors.Account{ExternalID: w.Call.Account.ExternalID, UserName: w.Call.Account.UserName, Status: connectors.StatusDeleted}, nil
	}
	rec := context.WithoutCancel(ctx)
	if err == nil {
		r.recordAsync(rec, w, func(tx *outbox.Tx) error { return tx.Complete(w.Request.ID, acct) }, nil)
		r.succeeded()
		return
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		// Stopping: leave it Provisioning; recovery on the next start verifies
		// before resending.
		return
	}
	r.failedWith(err)
	var stored outbox.Request
	r.recordAsync(rec, w, func(tx *outbox.Tx) error {
		var err2 error
		if stored, err2 = tx.Fail(w.Request.ID, err, r.policy); err2 != nil {
			return err2
		}
		return tx.NoteAccount(w.Request.App, w.Request.PersonID, acct) // what the app did do
	}, func() {
		r.log.Warn().Err(err).Uint64("request", w.Request.ID).Str("op", string(w.Request.Op)).
			Str("person", w.Request.PersonID).Str("state", string(stored.State)).Time("next", stored.NextAttempt).
			Msg("delivery failed")
	})
}

func nothingToSend(c connectors.Request) bool {
	if len(c.Changed) > 0 || c.Confirmed == nil {
		return false
	}
	d, conf := c.Desired, c.Confirmed
	return d.UserName == conf.UserName && d.Profile == conf.Profile &&
		sameSet(d.PermissionSets, conf.PermissionSets) && sameSet(d.Groups, conf.Groups)
}

// recordAsync commits an outcome in the background so the worker can take
// its next request while the group commit gathers outcomes into one fsync.
// Safe because the outbox hands out a person's next request only once this
// one is recorded, and an outcome lost to a crash leaves the request in
// Provisioning, which is verified before any resend. then runs after the
// commit.
func (r *appRunner) recordAsync(ctx context.Context, w outbox.Work, fn func(*outbox.Tx) error, then func()) {
	r.recordSlots <- struct{}{}
	r.recording.Add(1)
	go func() {
		defer func() { <-r.recordSlots; r.recording.Done() }()
		if err := r.a.store.Update(ctx, fn); err != nil {
			r.log.Error().Err(err).Uint64("request", w.Request.ID).Msg("recording the outcome failed; the request is verified on the next start")
		}
		if then != nil {
			then()
		}
		r.poke() // the person's next request may be available now
	}()
}

func (r *appRunner) succeeded() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.delivered++
	r.failStreak = 0
	if r.pauseReason == "quarantined" {
		r.pausedUntil, r.pauseReason = time.Time{}, ""
	}
}

func (r *appRunner) failedWith(err error) {
	class, after := connectors.ClassOf(err)
	now := r.a.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed++
	switch class {
	case connectors.RateLimited:
		r.pausedUntil, r.pauseReason = now.Add(max(after, time.Second)), "rate limited by the app"
	case connectors.Capacity:
		r.capacityTil = now.Add(max(after, 15*time.Minute))
		r.log.Warn().Time("until", r.capacityTil).Msg("the app is out of licences: Creates and Activates are paused, other requests go on")
	case connectors.Retryable:
		r.failStreak++
		if r.failStreak >= quarantineAfter {
			d := min(time.Duration(r.failStreak-quarantineAfter+1)*30*time.Second, 15*time.Minute)
			r.pausedUntil, r.pauseReason = now.Add(d), "quarantined"
			r.log.Warn().Int("consecutiveFailures", r.failStreak).Dur("for", d).Msg("app quarantined; it resumes by itself")
		}
	}
}

// AppHealth is what the status endpoint shows about delivery to one app.
type AppHealth struct {
	Connector   string    `json:"connector"`
	Paused      bool      `json:"paused"`
	PauseReason string    `json:"pauseReason,omitempty"`
	PausedUntil time.Time `json:"pausedUntil,omitzero"`
	CreatesHeld bool      `json:"createsPausedForLicences,omitempty"`
	InFlight    int       `json:"inFlight"`
	Delivered   int       `json:"deliveredSinceStart"`
	Failures    int       `json:"failuresSinceStart"`
}

func (r *appRunner) health() AppHealth {
	now := r.a.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	h := AppHealth{Connector: r.cfg.Connector, InFlight: r.inflight, Delivered: r.delivered, Failures: r.failed,
		CreatesHeld: r.capacityTil.After(now)}
	if r.pausedUntil.After(now) {
		h.Paused, h.PauseReason, h.PausedUntil = true, r.pauseReason, r.pausedUntil
	}
	return h
}

// recovered runs fn and turns a panic into an error: a connector or source
// bug (or a server reply it did not expect) must fail one attempt, not
// stop the agent.
func recovered(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("internal error (panic): %v", p)
		}
	}()
	return fn()
}
