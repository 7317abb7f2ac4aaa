package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/dirbridge/dirbridge/directory"
	"github.com/dirbridge/dirbridge/outbox"
)

// FullRead reads the whole directory and reconciles everyone it saw. While
// it reads it only stores snapshots, stages group memberships and marks
// people; when it has ended it decides: a read that looks wrong (empty, or
// far smaller than the last one) changes no membership and deactivates
// nobody unless acceptShrink; otherwise the memberships are applied, people
// no longer seen are treated as deleted, and everyone marked is planned.
func (a *Agent) FullRead(ctx context.Context, acceptShrink bool) error {
	start := a.now()
	a.status.setFullRead(start, time.Time{}, 0, nil)
	var gen uint64
	if err := a.store.Update(ctx, func(tx *outbox.Tx) error {
		var err error
		gen, err = tx.BeginFullRead()
		return err
	}); err != nil {
		return err
	}
	src, attrs := a.src(), a.readingAttributes()
	a.log.Info().Str("source", src.Describe()).Uint64("generation", gen).Msg("full read started")
	people := 0
	var cursor []byte
	err := recovered(func() (err error) {
		cursor, err = src.FullRead(ctx, func(ctx context.Context, p directory.Page) error {
			err := a.store.Update(ctx, func(tx *outbox.Tx) error { return a.stagePage(tx, p, gen) })
			people += countPeople(p)
			return err
		})
		return err
	})
	if err != nil {
		a.status.setFullRead(start, a.now(), people, err)
		return fmt.Errorf("full read: %w", err)
	}
	swept, planned, err := a.finishFullRead(ctx, fullReadEnd{gen, people, cursor, attrs}, acceptShrink)
	a.status.setFullRead(start, a.now(), people, err)
	if err != nil {
		return err
	}
	a.log.Info().Int("people", people).Int("requests", planned).Int("gone", swept).
		Dur("took", a.now().Sub(start)).Msg("full read complete")
	a.wakeTimers()
	a.maps.afterFullRead(ctx, "first sync") // a mapping that waited for the read's groups or attributes
	a.poke()
	return nil
}

// readingAttributes is what the source reads now.
func (a *Agent) readingAttributes() []string {
	a.srcMu.Lock()
	defer a.srcMu.Unlock()
	return a.srcAttrs
}

// fullReadEnd is what a completed read hands to finishFullRead.
type fullReadEnd struct {
	gen    uint64
	people int
	cursor []byte
	attrs  []string // the attributes it read for everyone
}

func countPeople(p directory.Page) int {
	n := 0
	for i := range p.Entries {
		if p.Entries[i].Kind == directory.KindPerson {
			n++
		}
	}
	return n
}

// stagePage stores one page of a full read without changing memberships or
// planning anybody yet.
func (a *Agent) stagePage(tx *outbox.Tx, p directory.Page, gen uint64) error {
	touched := map[string]bool{}
	for i := range p.Entries {
		e := &p.Entries[i]
		if e.Kind != directory.KindGroup {
			if err := a.storePerson(tx, e, gen, touched); err != nil {
				return err
			}
			continue
		}
		if err := tx.PutGroup(outbox.GroupInfo{ID: e.ID, DN: e.DN, Generation: gen}); err != nil {
			return err
		}
		if err := tx.StageMembers(e.ID, e.Members); err != nil {
			return err
		}
	}
	return tx.MarkDirty(keys(touched))
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// planBatch bounds one planning transaction at the end of a full read.
const planBatch = 500

// finishFullRead decides about the read, applies or discards what it
// staged, plans everyone marked into one batch in bounded transactions, and
// commits the cursor last, with the batch closed for the guard in the same
// transaction: a crash before that means the next start reads again (and
// closes the orphaned batch).
func (a *Agent) finishFullRead(ctx context.Context, end fullReadEnd, acceptShrink bool) (swept, planned int, err error) {
	var last fullReadMeta
	counted, suspicious := end.people, false
	var batch uint64
	p := a.maps.planner()
	err = a.store.Update(ctx, func(tx *outbox.Tx) error {
		swept = 0
		if err := json.Unmarshal(orNull(tx.Cursor(fullReadKey)), &last); err != nil {
			return err
		}
		reason := suspiciousRead(end.people, last.People)
		if suspicious = reason != "" && !acceptShrink; suspicious {
			// Keep the old count: every later read stays suspicious until an
			// operator accepts the shrink, instead of one day quietly passing.
			counted = last.People
			a.status.setSyncError(errors.New(reason))
			a.log.Error().Int("people", end.people).Int("lastRead", last.People).Msg(reason)
			return tx.DiscardStaging()
		}
		if err := a.applyStaged(tx, end.gen); err != nil {
			return err
		}
		var err error
		if swept, err = a.sweep(tx, end.gen); err != nil || p == nil {
			return err // without a mapping, its activation re-plans everyone
		}
		batch, err = tx.OpenBatch("full read")
		return err
	})
	for err == nil && batch != 0 {
		var n int
		var done bool
		err = a.store.Update(ctx, func(tx *outbox.Tx) error {
			ids, err := tx.TakeDirty(planBatch)
			done = len(ids) == 0
			if err == nil {
				n, err = a.planInto(tx, p, ids, batchRun{batch, "full read"})
			}
			return err
		})
		planned += n
		if done {
			break
		}
	}
	if err != nil {
		return swept, planned, err
	}
	err = a.store.Update(ctx, func(tx *outbox.Tx) error {
		meta, _ := json.Marshal(fullReadMeta{Finished: a.now(), People: counted})
		if err := tx.PutCursor(fullReadKey, meta); err != nil {
			return err
		}
		if err := tx.DiscardStaging(); err != nil {
			return err
		}
		if batch != 0 {
			if err := a.closeBatchTx(tx, batch); err != nil {
				return err
			}
		}
		if !suspicious {
			if err := putJSON(tx, attrsKey, end.attrs); err != nil {
				return err
			}
		}
		return tx.PutCursor(sourceCursor, end.cursor)
	})
	if err == nil && batch != 0 {
		err = a.settleBatch(ctx, batch)
	}
	return swept, planned, err
}

// applyStaged replaces the members of every group the read saw with what it
// staged, marking everyone whose membership changed.
func (a *Agent) applyStaged(tx *outbox.Tx, gen uint64) error {
	var seen []string
	if err := tx.Groups(func(g outbox.GroupInfo) error {
		if g.Generation == gen {
			seen = append(seen, g.ID)
		}
		return nil
	}); err != nil {
		return err
	}
	affected := map[string]bool{}
	for _, g := range seen {
		added, removed, err := tx.SetMembers(g, tx.StagedMembers(g))
		if err != nil {
			return err
		}
		markUnder(tx, append(added, removed...), affected)
	}
	return tx.MarkDirty(keys(affected))
}

// markUnder marks ids and, for groups among them, everyone under them.
func markUnder(tx *outbox.Tx, ids []string, affected map[string]bool) {
	for _, id := range ids {
		affected[id] = true
		for _, under := range tx.PeopleUnder(id) {
			affected[under] = true
		}
	}
}

// suspiciousRead says why a full read must not turn into deletions.
func suspiciousRead(people, last int) string {
	switch {
	case people == 0 && last > 0:
		return fmt.Sprintf("the full read returned no people (the last one saw %d): nobody is treated as deleted; check the source's base DN, filter and rights, or run `dirbridge sync --full --accept-shrink` if this is expected", last)
	case last >= 10 && people < last/2:
		return fmt.Sprintf("the full read saw %d people, less than half of the last one (%d): nobody is treated as deleted; if this is expected, run `dirbridge sync --full --accept-shrink`", people, last)
	}
	return ""
}

// sweep deletes people and groups that the full read of gen did not see.
func (a *Agent) sweep(tx *outbox.Tx, gen uint64) (int, error) {
	var gonePeople, goneGroups []string
	if err := tx.People(func(s outbox.Snapshot) error {
		if !s.Deleted && s.Generation < gen {
			gonePeople = append(gonePeople, s.ID)
		}
		return nil
	}); err != nil {
		return 0, err
	}
	if err := tx.Groups(func(g outbox.GroupInfo) error {
		if g.Generation < gen {
			goneGroups = append(goneGroups, g.ID)
		}
		return nil
	}); err != nil {
		return 0, err
	}
	affected, err := a.storePage(tx, directory.Page{Deleted: append(gonePeople, goneGroups...)}, gen)
	if err != nil {
		return 0, err
	}
	return len(gonePeople), tx.MarkDirty(affected)
}
