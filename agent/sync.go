package agent

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"time"

	"github.com/dirbridge/dirbridge/directory"
	"github.com/dirbridge/dirbridge/outbox"
)

// fullReadMeta is kept beside the cursor: when the last complete full read
// ended and how many people it saw (the empty-read guard compares with it).
type fullReadMeta struct {
	Finished time.Time `json:"finished"`
	People   int       `json:"people"`
}

const fullReadKey = "directory.fullread"

// syncLoop follows the directory: a full read when there is no cursor, when
// the source asks for one and on schedule; incremental changes in between.
func (a *Agent) syncLoop(ctx context.Context) error {
	for ctx.Err() == nil {
		err := a.syncOnce(ctx)
		switch {
		case err == nil, ctx.Err() != nil:
		case errors.Is(err, directory.ErrFullReadRequired):
			a.log.Warn().Err(err).Msg("the saved directory position cannot be continued; running a full read")
			if err := a.clearCursor(ctx); err != nil {
				return err
			}
		default:
			a.status.setSyncError(err)
			a.log.Error().Err(err).Dur("retryIn", a.cfg.Sync.RetryInterval).Msg("directory sync failed")
			select {
			case <-ctx.Done():
			case <-time.After(a.cfg.Sync.RetryInterval):
			}
		}
	}
	return nil
}

func (a *Agent) syncOnce(ctx context.Context) error {
	if err := a.reopenSourceIfNarrow(); err != nil {
		return err
	}
	var cursor []byte
	var meta fullReadMeta
	covered := false
	if err := a.store.View(func(tx *outbox.Tx) error {
		cursor = tx.Cursor(sourceCursor)
		covered = len(missing(a.wanted(), coveredAttributes(tx))) == 0
		return json.Unmarshal(orNull(tx.Cursor(fullReadKey)), &meta)
	}); err != nil {
		return err
	}
	due := meta.Finished.Add(a.cfg.Sync.FullReadInterval)
	if cursor == nil || !covered || !a.now().Before(due) {
		return a.FullRead(ctx, false)
	}
	wctx, cancel := context.WithDeadline(ctx, due)
	defer cancel()
	src := a.src()
	a.status.setWatching(src.Describe())
	watched := make(chan error, 1)
	go func() { watched <- recovered(func() error { return src.Watch(wctx, cursor, a.applyPage) }) }()
	defer a.endRound(ctx)
	select {
	case accept := <-a.fullNow: // an operator asked for a full read
		cancel()
		<-watched
		return a.FullRead(ctx, accept)
	case <-a.widened: // the mapping needs attributes the store lacks
		cancel()
		<-watched
		return nil
	case err := <-watched:
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return nil // the scheduled full read is due
		}
		return err
	}
}

// planRoundPage plans a page's people into the round's batch (opened by
// its first page) and closes and settles the batch on the round's last
// page. It returns the batch still open (0 when the round ended).
func (a *Agent) planRoundPage(tx *outbox.Tx, ids []string, round uint64, more bool) (int, uint64, error) {
	p := a.maps.planner()
	if p == nil {
		return 0, round, nil // no mapping yet: its activation re-plans everyone
	}
	if round == 0 {
		if len(ids) == 0 && !more {
			return 0, 0, nil
		}
		var err error
		if round, err = tx.OpenBatch("directory change"); err != nil {
			return 0, 0, err
		}
	}
	n, err := a.planInto(tx, p, ids, batchRun{round, "directory change"})
	if err != nil || more {
		return n, round, err
	}
	if err := a.closeBatchTx(tx, round); err != nil {
		return n, round, err
	}
	for done := false; !done; {
		if done, err = tx.SettleBatch(round, settleChunk); err != nil {
			return n, round, err
		}
	}
	return n, 0, nil
}

// endRound closes a change round's batch that a watch left open (it ended
// between two pages of a round).
func (a *Agent) endRound(ctx context.Context) {
	if a.round == 0 {
		return
	}
	if err := a.closeBatch(ctx, a.round); err != nil && ctx.Err() == nil {
		a.log.Error().Err(err).Msg("closing an interrupted change round's batch")
	}
	a.round = 0
}

// hasFullRead reports whether a full read ever completed on this store.
func (a *Agent) hasFullRead() bool {
	done := false
	_ = a.store.View(func(tx *outbox.Tx) error { done = tx.Cursor(fullReadKey) != nil; return nil })
	return done
}

// RequestFullRead asks the sync loop for a full read now. acceptShrink lets
// it treat people missing from a much smaller read as deleted, which the
// empty-read guard otherwise refuses.
func (a *Agent) RequestFullRead(acceptShrink bool) {
	select {
	case a.fullNow <- acceptShrink:
	default:
	}
}

func orNull(b []byte) []byte {
	if len(b) == 0 {
		return []byte("null")
	}
	return b
}

func (a *Agent) clearCursor(ctx context.Context) error {
	return a.store.Update(ctx, func(tx *outbox.Tx) error { return tx.PutCursor(sourceCursor, nil) })
}

// applyPage commits one page of incremental changes and its cursor in one
// transaction, with every request it produced. The pages of one change
// round (Page.More) are planned into one batch, closed with the round's
// last page.
func (a *Agent) applyPage(ctx context.Context, p directory.Page) error {
	var planned int
	round := a.round
	err := a.store.Update(ctx, func(tx *outbox.Tx) error {
		round = a.round
		affected, err := a.storePage(tx, p, 0)
		if err != nil {
			return err
		}
		if planned, round, err = a.planRoundPage(tx, affected, round, p.More); err != nil {
			return err
		}
		if p.Cursor != nil {
			return tx.PutCursor(sourceCursor, p.Cursor)
		}
		return nil
	})
	if err != nil {
		return err
	}
	a.round = round
	if n := len(p.Entries) + len(p.Deleted); n > 0 { // empty pages only move the cursor (heartbeats)
		a.status.setChange(a.now(), n)
		a.wakeTimers()
	}
	if planned > 0 {
		a.log.Info().Int("entries", len(p.Entries)).Int("deleted", len(p.Deleted)).Int("requests", planned).Msg("directory changes planned")
		a.poke()
	}
	return nil
}

// storePage writes a page's entries into snapshots and the membership
// index and returns the people whose evaluation may have changed.
func (a *Agent) storePage(tx *outbox.Tx, p directory.Page, gen uint64) ([]string, error) {
	affected := map[string]bool{}
	for i := range p.Entries {
		e := &p.Entries[i]
		var err error
		if e.Kind == directory.KindGroup {
			err = a.storeGroup(tx, e, gen, affected)
		} else {
			err = a.storePerson(tx, e, gen, affected)
		}
		if err != nil {
			return nil, err
		}
	}
	for _, id := range p.Deleted {
		if err := a.storeDelete(tx, id, affected); err != nil {
			return nil, err
		}
	}
	out := make([]string, 0, len(affected))
	for id := range affected {
		out = append(out, id)
	}
	sort.Strings(out)
	return out, nil
}

func (a *Agent) storePerson(tx *outbox.Tx, e *directory.Entry, gen uint64, affected map[string]bool) error {
	old, ok, err := tx.Person(e.ID)
	if err != nil {
		return err
	}
	s := outbox.Snapshot{ID: e.ID, DN: e.DN, Attributes: e.Attributes, PrimaryGroup: e.PrimaryGroup, Generation: gen}
	if ok {
		if e.Partial { // DirSync sends only what changed
			s.Attributes = merge(old.Attributes, e.Attributes)
			if s.PrimaryGroup == "" {
				s.PrimaryGroup = old.PrimaryGroup
			}
		}
		if gen == 0 {
			s.Generation = old.Generation
		}
	}
	affected[e.ID] = true
	return tx.PutPerson(s)
}

func merge(old, changed map[string][]string) map[string][]string {
	out := make(map[string][]string, len(old)+len(changed))
	for k, v := range old {
		out[k] = v
	}
	for k, v := range changed {
		if len(v) == 0 {
			delete(out, k) // an attribute cleared in the directory
			continue
		}
		out[k] = v
	}
	return out
}

func (a *Agent) storeGroup(tx *outbox.Tx, e *directory.Entry, gen uint64, affected map[string]bool) error {
	g, ok, err := tx.Group(e.ID)
	if err != nil {
		return err
	}
	if gen == 0 && ok {
		gen = g.Generation
	}
	if err := tx.PutGroup(outbox.GroupInfo{ID: e.ID, DN: e.DN, Generation: gen}); err != nil {
		return err
	}
	var changed []string
	if e.MembersDelta {
		if err := tx.AddMembers(e.ID, e.MembersAdded); err != nil {
			return err
		}
		if err := tx.RemoveMembers(e.ID, e.MembersRemoved); err != nil {
			return err
		}
		changed = append(append(changed, e.MembersAdded...), e.MembersRemoved...)
	} else if !e.Partial || e.Members != nil {
		added, removed, err := tx.SetMembers(e.ID, e.Members)
		if err != nil {
			return err
		}
		changed = append(added, removed...)
	}
	markUnder(tx, changed, affected) // a nested group brings its people
	return nil
}

func (a *Agent) storeDelete(tx *outbox.Tx, id string, affected map[string]bool) error {
	if _, isGroup, err := tx.Group(id); err != nil {
		return err
	} else if isGroup {
		people, err := tx.DeleteGroup(id)
		for _, p := range people {
			affected[p] = true
		}
		return err
	}
	s, ok, err := tx.Person(id)
	if err != nil || !ok {
		return err
	}
	s.Deleted = true
	if err := tx.PutPerson(s); err != nil {
		return err
	}
	// Neither DirSync nor USN polling reports the groups of a deleted member.
	if _, err := tx.DropMemberships(id); err != nil {
		return err
	}
	affected[id] = true
	return nil
}
