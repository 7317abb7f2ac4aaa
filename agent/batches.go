package agent

import (
	"context"

	"github.com/dirbridge/dirbridge/outbox"
)

// settleChunk bounds one transaction that releases or holds a closed
// batch's parked requests.
const settleChunk = 2000

// planInOwnBatch plans ids in a batch of their own that is opened, closed
// and settled in tx: the unit of one directory page, one timer round, one
// operator action. The guard sees the whole batch before any of it is sent.
func (a *Agent) planInOwnBatch(tx *outbox.Tx, ids []string, cause string) (int, error) {
	p := a.maps.planner()
	if p == nil || len(ids) == 0 {
		return 0, nil // no mapping yet: its activation re-plans everyone
	}
	batch, err := tx.OpenBatch(cause)
	if err != nil {
		return 0, err
	}
	n, err := a.planInto(tx, p, ids, batchRun{batch, cause})
	if err != nil {
		return n, err
	}
	if err := a.closeBatchTx(tx, batch); err != nil {
		return n, err
	}
	for done := false; !done; {
		if done, err = tx.SettleBatch(batch, settleChunk); err != nil {
			return n, err
		}
	}
	return n, nil
}

// planInto plans ids into an open batch and returns how many requests.
func (a *Agent) planInto(tx *outbox.Tx, p *planner, ids []string, run batchRun) (int, error) {
	n := 0
	for _, id := range ids {
		planned, err := p.plan(tx, id, run, a.now())
		if err != nil {
			return n, err
		}
		n += len(planned)
	}
	return n, nil
}

// closeBatchTx closes a batch in tx, the guard deciding for every app.
func (a *Agent) closeBatchTx(tx *outbox.Tx, id uint64) error {
	b, err := tx.CloseBatch(id, func(b *outbox.Batch, app string, part outbox.BatchApp) string {
		return a.guard.decide(tx, *b, app, part)
	})
	if err != nil {
		return err
	}
	for app, part := range b.Apps {
		if part.Decision == outbox.BatchHeld {
			a.log.Warn().Uint64("batch", b.ID).Str("app", app).Str("cause", b.Cause).
				Interface("counts", part.Kinds).Msg(part.Reason)
		}
	}
	return nil
}

// closeBatch closes a batch that spans transactions and settles it.
func (a *Agent) closeBatch(ctx context.Context, id uint64) error {
	if err := a.store.Update(ctx, func(tx *outbox.Tx) error { return a.closeBatchTx(tx, id) }); err != nil {
		return err
	}
	return a.settleBatch(ctx, id)
}

// settleBatch releases or holds a closed batch's parked requests, one
// bounded transaction at a time.
func (a *Agent) settleBatch(ctx context.Context, id uint64) error {
	for {
		var done bool
		err := a.store.Update(ctx, func(tx *outbox.Tx) (err error) {
			done, err = tx.SettleBatch(id, settleChunk)
			return err
		})
		if err != nil || done {
			a.poke()
			return err
		}
	}
}

// recoverBatches closes the batches a crash left open (a full read that
// never finished; a re-plan job's own batch stays open: the job resumes)
// and settles those left half settled, so nothing stays parked.
func (a *Agent) recoverBatches(ctx context.Context) error {
	var open, unsettled []uint64
	err := a.store.View(func(tx *outbox.Tx) error {
		owned := jobBatch(tx)
		bs, err := tx.Batches(0)
		for _, b := range bs {
			switch {
			case b.Open() && b.ID != owned:
				open = append(open, b.ID)
			case !b.Open():
				unsettled = append(unsettled, b.ID)
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	for _, id := range open {
		a.log.Info().Uint64("batch", id).Msg("closing a batch an interrupted run left open; the guard decides about it")
		if err := a.closeBatch(ctx, id); err != nil {
			return err
		}
	}
	for _, id := range unsettled {
		if err := a.settleBatch(ctx, id); err != nil {
			return err
		}
	}
	return nil
}
