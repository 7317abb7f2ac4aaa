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
		return a.FullRead(ctx, false)
	}
	wctx, cancel := context.WithDeadline(ctx, due)
	defer cancel()
	a.status.setWatching(a.source.Describe())
	watched := make(chan error, 1)
	go func() { watched <- a.source.Watch(wctx, cursor, a.applyPage) }()
	select {
	case accept := <-a.fullNow: // an operator asked for a full read
		cancel()
		<-watched
		return a.FullRead(ctx, accept)
	case err := <-watched:
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return nil // the scheduled full read is due
		}
		return err
	}
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
	a.wakeTimers()
	if planned > 0 {
		a.log.Info().Int("entries", len(p.Entries)).Int("deleted", len(p.Deleted)).Int("requests", planned).Msg("directory changes planned")
		a.poke()
	}
	return nil
}

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
	a.log.Info().Str("source", a.source.Describe()).Uint64("generation", gen).Msg("full read started")
	people := 0
	cursor, err := a.source.FullRead(ctx, func(ctx context.Context, p directory.Page) error {
		err := a.store.Update(ctx, func(tx *outbox.Tx) error { return a.stagePage(tx, p, gen) })
		people += countPeople(p)
		return err
	})
	if err != nil {
		a.status.setFullRead(start, a.now(), people, err)
		return fmt.Errorf("full read: %w", err)
	}
	swept, planned, err := a.finishFullRead(ctx, gen, people, cursor, acceptShrink)
	a.status.setFullRead(start, a.now(), people, err)
	if err != nil {
		return err
	}
	a.log.Info().Int("people", people).Int("requests", planned).Int("gone", swept).
		Dur("took", a.now().Sub(start)).Msg("full read complete")
	a.countActiveAccounts()
	a.wakeTimers()
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
// staged, plans everyone marked in batches, and commits the cursor last: a
// crash before that means the next start reads again.
func (a *Agent) finishFullRead(ctx context.Context, gen uint64, people int, cursor []byte, acceptShrink bool) (swept, planned int, err error) {
	var last fullReadMeta
	counted, suspicious := people, false
	err = a.store.Update(ctx, func(tx *outbox.Tx) error {
		swept = 0
		if err := json.Unmarshal(orNull(tx.Cursor(fullReadKey)), &last); err != nil {
			return err
		}
		reason := suspiciousRead(people, last.People)
		if suspicious = reason != "" && !acceptShrink; suspicious {
			// Keep the old count: every later read stays suspicious until an
			// operator accepts the shrink, instead of one day quietly passing.
			counted = last.People
			a.status.setSyncError(errors.New(reason))
			a.log.Error().Int("people", people).Int("lastRead", last.People).Msg(reason)
			return tx.DiscardStaging()
		}
		if err := a.applyStaged(tx, gen); err != nil {
			return err
		}
		var err error
		swept, err = a.sweep(tx, gen)
		return err
	})
	for err == nil && !suspicious {
		var n int
		var done bool
		err = a.store.Update(ctx, func(tx *outbox.Tx) error {
			ids, err := tx.TakeDirty(planBatch)
			done = len(ids) == 0
			if err == nil {
				n, err = a.planPeople(tx, ids, "full read")
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
		return tx.PutCursor(sourceCursor, cursor)
	})
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

// countActiveAccounts tells the mass-change guard how many active accounts
// each app has, for its percentage limit.
func (a *Agent) countActiveAccounts() {
	counts := map[string]int{}
	_ = a.store.View(func(tx *outbox.Tx) error {
		return tx.States("", func(st outbox.AppState) error {
			if st.Confirmed != nil && st.Confirmed.Active {
				counts[st.App]++
			}
			return nil
		})
	})
	for _, app := range a.cfg.AppNames() {
		a.guard.setActive(app, counts[app])
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
		n, err := a.planPeople(tx, due, "timer")
		planned = n
		return err
	})
	if planned > 0 {
		a.poke()
	}
	return err
}
