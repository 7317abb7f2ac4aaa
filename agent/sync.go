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
	var cursor []byte
	var meta fullReadMeta
	if err := a.store.View(func(tx *outbox.Tx) error {
		cursor = tx.Cursor(sourceCursor)
		return json.Unmarshal(orNull(tx.Cursor(fullReadKey)), &meta)
	}); err != nil {
		return err
	}
	due := meta.Finished.Add(a.cfg.Sync.FullReadInterval)
	if cursor == nil || !a.now().Before(due) {
		return a.FullRead(ctx)
	}
	wctx, cancel := context.WithDeadline(ctx, due)
	defer cancel()
	a.status.setWatching(a.source.Describe())
	err := a.source.Watch(wctx, cursor, a.applyPage)
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		return nil // the scheduled full read is due
	}
	return err
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
// transaction, with every request it produced.
func (a *Agent) applyPage(ctx context.Context, p directory.Page) error {
	var planned int
	err := a.store.Update(ctx, func(tx *outbox.Tx) error {
		affected, err := a.storePage(tx, p, 0)
		if err != nil {
			return err
		}
		planned, err = a.planPeople(tx, affected, "directory change")
		if err != nil {
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
	a.status.setChange(a.now(), len(p.Entries)+len(p.Deleted))
	if planned > 0 {
		a.log.Info().Int("entries", len(p.Entries)).Int("deleted", len(p.Deleted)).Int("requests", planned).Msg("directory changes planned")
		a.poke()
	}
	return nil
}

// FullRead reads the whole directory, plans everyone it saw, and treats
// people it no longer saw as deleted, unless the read looks wrong (empty or
// far smaller than the last one), in which case nobody is deactivated.
func (a *Agent) FullRead(ctx context.Context) error {
	start := a.now()
	a.status.setFullRead(start, time.Time{}, 0, nil)
	var gen uint64
	if err := a.store.Update(ctx, func(tx *outbox.Tx) error {
		var err error
		gen, err = tx.NextGeneration()
		return err
	}); err != nil {
		return err
	}
	a.log.Info().Str("source", a.source.Describe()).Uint64("generation", gen).Msg("full read started")
	people, planned := 0, 0
	cursor, err := a.source.FullRead(ctx, func(ctx context.Context, p directory.Page) error {
		return a.store.Update(ctx, func(tx *outbox.Tx) error {
			affected, err := a.storePage(tx, p, gen)
			if err != nil {
				return err
			}
			n, err := a.planPeople(tx, affected, "full read")
			people, planned = people+countPeople(p), planned+n
			return err
		})
	})
	if err != nil {
		a.status.setFullRead(start, a.now(), people, err)
		return fmt.Errorf("full read: %w", err)
	}
	swept, err := a.finishFullRead(ctx, gen, people, cursor)
	a.status.setFullRead(start, a.now(), people, err)
	if err != nil {
		return err
	}
	a.log.Info().Int("people", people).Int("requests", planned).Int("gone", swept).
		Dur("took", a.now().Sub(start)).Msg("full read complete")
	if a.maps.planner() == nil { // the mapping's groups can resolve now
		if err := a.maps.reload(ctx, "first sync"); err != nil {
			a.log.Error().Err(err).Msg("the mapping cannot be activated")
		}
	}
	a.poke()
	return nil
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

// finishFullRead marks what the read did not see as deleted and commits the
// cursor, in one transaction.
func (a *Agent) finishFullRead(ctx context.Context, gen uint64, people int, cursor []byte) (int, error) {
	swept := 0
	err := a.store.Update(ctx, func(tx *outbox.Tx) error {
		var last fullReadMeta
		if err := json.Unmarshal(orNull(tx.Cursor(fullReadKey)), &last); err != nil {
			return err
		}
		if reason := suspiciousRead(people, last.People); reason != "" {
			a.status.setSyncError(errors.New(reason))
			a.log.Error().Int("people", people).Int("lastRead", last.People).Msg(reason)
		} else {
			var err error
			if swept, err = a.sweep(tx, gen); err != nil {
				return err
			}
		}
		meta, _ := json.Marshal(fullReadMeta{Finished: a.now(), People: people})
		if err := tx.PutCursor(fullReadKey, meta); err != nil {
			return err
		}
		return tx.PutCursor(sourceCursor, cursor)
	})
	return swept, err
}

// suspiciousRead says why a full read must not turn into deletions.
func suspiciousRead(people, last int) string {
	switch {
	case people == 0 && last > 0:
		return fmt.Sprintf("the full read returned no people (the last one saw %d): nobody is treated as deleted; check the source's base DN, filter and rights", last)
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
	_, err = a.planPeople(tx, affected, "full read: not in the directory any more")
	return len(gonePeople), err
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
	for _, id := range changed {
		affected[id] = true
		for _, under := range tx.PeopleUnder(id) { // a nested group brings its people
			affected[under] = true
		}
	}
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

// planPeople plans every affected person that is a person (groups are
// skipped), when a mapping is loaded.
func (a *Agent) planPeople(tx *outbox.Tx, ids []string, cause string) (int, error) {
	p := a.maps.planner()
	if p == nil {
		return 0, nil // no mapping yet: the first full read only fills the store
	}
	n := 0
	for _, id := range ids {
		if _, ok, err := tx.Person(id); err != nil || !ok {
			if err != nil {
				return n, err
			}
			continue
		}
		planned, err := p.plan(tx, id, cause, a.now())
		if err != nil {
			return n, err
		}
		n += len(planned)
	}
	return n, nil
}

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
		case <-time.After(wait):
		}
		if err := a.fireTimers(ctx); err != nil && ctx.Err() == nil {
			a.log.Error().Err(err).Msg("timers")
		}
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
		n, err := a.planPeople(tx, due, "timer")
		planned = n
		return err
	})
	if planned > 0 {
		a.poke()
	}
	return err
}
