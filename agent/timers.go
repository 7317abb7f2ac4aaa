package agent

import (
	"context"
	"time"

	"github.com/dirbridge/dirbridge/outbox"
)

// timerLoop re-evaluates people when a time their mapping depends on comes
// (accountExpires passing, a start date), with no directory write at all.
func (a *Agent) timerLoop(ctx context.Context) error {
	for {
		wait := time.Minute
		_ = a.store.View(func(tx *outbox.Tx) error {
			if next, ok := tx.NextTimer(); ok {
				wait = min(wait, max(next.Sub(a.now()), 0))
			}
			return nil
		})
		select {
		case <-ctx.Done():
			return nil
		case <-a.timersChanged:
			continue // recompute the wait: an earlier timer may exist now
		case <-time.After(wait):
		}
		if err := a.fireTimers(ctx); err != nil && ctx.Err() == nil {
			a.log.Error().Err(err).Msg("timers")
		}
	}
}

func (a *Agent) wakeTimers() {
	select {
	case a.timersChanged <- struct{}{}:
	default:
	}
}

func (a *Agent) fireTimers(ctx context.Context) error {
	planned := 0
	err := a.store.Update(ctx, func(tx *outbox.Tx) error {
		planned = 0
		due := tx.DueTimers(a.now(), 1000)
		for _, id := range due {
			if err := tx.SetTimer(id, time.Time{}); err != nil { // plan sets the next one
				return err
			}
		}
		n, err := a.planInOwnBatch(tx, due, "timer")
		planned = n
		return err
	})
	if planned > 0 {
		a.poke()
	}
	return err
}
