package agent

import (
	"context"

	"github.com/dirbridge/dirbridge/operator"
	"github.com/dirbridge/dirbridge/outbox"
)

// The operator's queries and actions on the agent's own state file. They go
// through package operator, the same code the CLI uses on the state file of
// a stopped agent; actions also wake the dispatchers so a retried or
// approved request is sent now, not at the next timer.

func (a *Agent) ops() *operator.Queries { return operator.New(a.store) }

// Requests lists the requests f selects, newest first.
func (a *Agent) Requests(ctx context.Context, f outbox.Filter) ([]outbox.Request, error) {
	return a.ops().Requests(ctx, f)
}

// Request reads one request with its provisioning log.
func (a *Agent) Request(ctx context.Context, id uint64) (operator.RequestDetail, error) {
	return a.ops().Request(ctx, id)
}

// Person shows what the agent knows and did for one person.
func (a *Agent) Person(ctx context.Context, who string) (operator.PersonView, error) {
	return a.ops().Person(ctx, who)
}

// Accounts lists the per (app, person) records of app ("" for all).
func (a *Agent) Accounts(ctx context.Context, app string) ([]outbox.AppState, error) {
	return a.ops().Accounts(ctx, app)
}

// DisplayNames maps person ids to their DNs for people-facing pages.
func (a *Agent) DisplayNames(ctx context.Context, ids []string) (map[string]string, error) {
	return a.ops().DisplayNames(ctx, ids)
}

// Act applies an operator action (operator.Actions) to a request.
func (a *Agent) Act(ctx context.Context, id uint64, action, who string) (outbox.Request, error) {
	r, err := a.ops().Act(ctx, id, action, who)
	if err == nil {
		a.log.Info().Uint64("request", id).Str("action", action).Str("actor", who).Msg("operator action")
		a.poke()
	}
	return r, err
}

// DecideHeld approves or denies the whole held batch of app.
func (a *Agent) DecideHeld(ctx context.Context, app string, approve bool, who string) (int, error) {
	n, err := a.ops().DecideHeld(ctx, app, approve, who)
	if err == nil {
		a.log.Info().Str("app", app).Bool("approve", approve).Int("requests", n).Str("actor", who).Msg("held batch decided")
		a.poke()
	}
	return n, err
}

// Batches lists the open and recently held planning batches.
func (a *Agent) Batches(ctx context.Context) ([]outbox.Batch, error) { return a.ops().Batches(ctx) }

// DecideBatch approves or denies app's held requests of one batch (or of
// some people in it).
func (a *Agent) DecideBatch(ctx context.Context, id uint64, app string, approve bool, people []string, who string) (int, error) {
	n, err := a.ops().DecideBatch(ctx, id, app, approve, people, who)
	if err == nil && approve {
		a.poke()
	}
	return n, err
}

// StartFullRead asks the running sync loop for a full read and returns at
// once; FullRead runs one here and returns when it is done.
func (a *Agent) StartFullRead(_ context.Context, acceptShrink bool, who string) error {
	a.log.Info().Bool("acceptShrink", acceptShrink).Str("actor", who).Msg("full read requested")
	a.RequestFullRead(acceptShrink)
	return nil
}
