package outbox

import (
	"github.com/dirbridge/dirbridge/directory"

	"bytes"
	"fmt"
	json "github.com/goccy/go-json"
	"sort"
	"time"
)

// Cursor returns the saved position of a directory source (nil if none).
func (tx *Tx) Cursor(source string) []byte {
	v := tx.btx.Bucket(bCursors).Get([]byte(source))
	return append([]byte(nil), v...)
}

// PutCursor saves a source's position. Call it in the same Update as
// everything the page it ends produced.
func (tx *Tx) PutCursor(source string, cursor []byte) error {
	if err := checkName("source", source); err != nil {
		return err
	}
	if cursor == nil {
		return tx.btx.Bucket(bCursors).Delete([]byte(source))
	}
	return tx.btx.Bucket(bCursors).Put([]byte(source), cursor)
}

// Snapshot is the stored copy of a person's mapped directory attributes
// (DirSync returns only what changed; the rest comes from here).
type Snapshot struct {
	ID           string     `json:"id"`
	DN           string     `json:"dn"`
	Attributes   Attributes `json:"attrs"`
	PrimaryGroup string     `json:"primaryGroup,omitempty"`
	Deleted      bool       `json:"deleted,omitempty"`
	// Generation is the full read that last saw the person; after a complete
	// full read, people with an older generation are gone from the directory.
	Generation uint64    `json:"gen"`
	Updated    time.Time `json:"updated"`
}

// GroupInfo is what the store keeps of a group besides its members.
type GroupInfo struct {
	ID         string `json:"id"`
	DN         string `json:"dn"`
	Generation uint64 `json:"gen"`
}

// Person returns a person's snapshot.
func (tx *Tx) Person(id string) (Snapshot, bool, error) {
	var s Snapshot
	raw := tx.btx.Bucket(bPeople).Get([]byte(id))
	if raw == nil {
		return s, false, nil
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return s, false, fmt.Errorf("outbox: decode person %s: %w", id, err)
	}
	return s, true, nil
}

// PutPerson stores a snapshot and keeps the DN index in step (a rename
// moves the DN entry; the id never changes).
func (tx *Tx) PutPerson(s Snapshot) error {
	if err := checkName("person", s.ID); err != nil {
		return err
	}
	old, ok, err := tx.Person(s.ID)
	if err != nil {
		return err
	}
	if err := tx.moveDN(ok, old.DN, s.DN, s.ID, s.Deleted); err != nil {
		return err
	}
	s.Updated = tx.now
	return tx.putJSON(bPeople, []byte(s.ID), &s)
}

// People calls fn for every stored person.
func (tx *Tx) People(fn func(Snapshot) error) error {
	return tx.btx.Bucket(bPeople).ForEach(func(k, v []byte) error {
		var s Snapshot
		if err := json.Unmarshal(v, &s); err != nil {
			return fmt.Errorf("outbox: decode person %s: %w", k, err)
		}
		return fn(s)
	})
}

// Group returns a group's record.
func (tx *Tx) Group(id string) (GroupInfo, bool, error) {
	var g GroupInfo
	raw := tx.btx.Bucket(bGroups).Get([]byte(id))
	if raw == nil {
		return g, false, nil
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		return g, false, fmt.Errorf("outbox: decode group %s: %w", id, err)
	}
	return g, true, nil
}

// PutGroup stores a group's DN and generation.
func (tx *Tx) PutGroup(g GroupInfo) error {
	if err := checkName("group", g.ID); err != nil {
		return err
	}
	old, ok, err := tx.Group(g.ID)
	if err != nil {
		return err
	}
	if err := tx.moveDN(ok, old.DN, g.DN, g.ID, false); err != nil {
		return err
	}
	return tx.putJSON(bGroups, []byte(g.ID), &g)
}

// Groups calls fn for every stored group.
func (tx *Tx) Groups(fn func(GroupInfo) error) error {
	return tx.btx.Bucket(bGroups).ForEach(func(k, v []byte) error {
		var g GroupInfo
		if err := json.Unmarshal(v, &g); err != nil {
			return fmt.Errorf("outbox: decode group %s: %w", k, err)
		}
		return fn(g)
	})
}

// DeleteGroup removes a group and all its membership edges; it returns the
// people who were under it (directly or through nested groups) before.
func (tx *Tx) DeleteGroup(id string) ([]string, error) {
	g, ok, err := tx.Group(id)
	if err != nil || !ok {
		return nil, err
	}
	affected := tx.PeopleUnder(id)
	if _, _, err := tx.SetMembers(id, nil); err != nil {
		return nil, err
	}
	for _, parent := range tx.directGroups(id) {
		if err := tx.RemoveMembers(parent, []string{id}); err != nil {
			return nil, err
		}
	}
	if err := tx.moveDN(true, g.DN, "", id, true); err != nil {
		return nil, err
	}
	return affected, tx.btx.Bucket(bGroups).Delete([]byte(id))
}

func (tx *Tx) moveDN(hadOld bool, oldDN, newDN, id string, deleted bool) error {
	b := tx.btx.Bucket(bDNs)
	if hadOld && oldDN != "" && (oldDN != newDN || deleted) {
		if k := []byte(directory.NormalizeDN(oldDN)); string(b.Get(k)) == id {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
	}
	if deleted || newDN == "" {
		return nil
	}
	return b.Put([]byte(directory.NormalizeDN(newDN)), []byte(id))
}

// IDByDN resolves a DN (of a person or group) to its stable id.
func (tx *Tx) IDByDN(dn string) (string, bool) {
	v := tx.btx.Bucket(bDNs).Get([]byte(directory.NormalizeDN(dn)))
	return string(v), v != nil
}

// NextGeneration starts a full read and returns its generation number.
func (tx *Tx) NextGeneration() (uint64, error) {
	meta := tx.btx.Bucket(bMeta)
	g := getU64(meta.Get([]byte("generation"))) + 1
	return g, meta.Put([]byte("generation"), u64(g))
}

// SetMembers replaces a group's direct members and returns who was added
// and who was removed.
func (tx *Tx) SetMembers(group string, members []string) (added, removed []string, err error) {
	want := make(map[string]bool, len(members))
	for _, m := range members {
		want[m] = true
	}
	have := map[string]bool{}
	for _, m := range tx.directMembers(group) {
		have[m] = true
	}
	for m := range want {
		if !have[m] {
			added = append(added, m)
		}
	}
	for m := range have {
		if !want[m] {
			removed = append(removed, m)
		}
	}
	sort.Strings(added)
	sort.Strings(removed)
	if err := tx.AddMembers(group, added); err != nil {
		return nil, nil, err
	}
	return added, removed, tx.RemoveMembers(group, removed)
}

// AddMembers adds direct members to a group (a delta; existing ones stay).
func (tx *Tx) AddMembers(group string, members []string) error {
	for _, m := range members {
		if err := checkName("member", m); err != nil {
			return err
		}
		if err := tx.btx.Bucket(bMembers).Put(join(group, m), nil); err != nil {
			return err
		}
		if err := tx.btx.Bucket(bMemberOf).Put(join(m, group), nil); err != nil {
			return err
		}
	}
	return nil
}

// RemoveMembers removes direct members from a group.
func (tx *Tx) RemoveMembers(group string, members []string) error {
	for _, m := range members {
		if err := tx.btx.Bucket(bMembers).Delete(join(group, m)); err != nil {
			return err
		}
		if err := tx.btx.Bucket(bMemberOf).Delete(join(m, group)); err != nil {
			return err
		}
	}
	return nil
}

// DropMemberships removes an object (a deleted person) from every group: AD
// reports neither the group nor the member when a member is deleted.
func (tx *Tx) DropMemberships(member string) ([]string, error) {
	groups := tx.directGroups(member)
	for _, g := range groups {
		if err := tx.RemoveMembers(g, []string{member}); err != nil {
			return nil, err
		}
	}
	return groups, nil
}

func (tx *Tx) directMembers(group string) []string { return tx.scanSuffixes(bMembers, group) }
func (tx *Tx) directGroups(member string) []string { return tx.scanSuffixes(bMemberOf, member) }

func (tx *Tx) scanSuffixes(bucket []byte, key string) []string {
	p := prefix(key)
	var out []string
	c := tx.btx.Bucket(bucket).Cursor()
	for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
		out = append(out, string(k[len(p):]))
	}
	return out
}

// MemberGroups returns the groups an object belongs to: direct ones (and
// the primary group of a person), plus, when nested, every group reached
// through nested groups. Cycles are tolerated.
func (tx *Tx) MemberGroups(id string, nested bool) ([]string, error) {
	start := tx.directGroups(id)
	if s, ok, err := tx.Person(id); err != nil {
		return nil, err
	} else if ok && s.PrimaryGroup != "" {
		start = append(start, s.PrimaryGroup)
	}
	if !nested {
		sort.Strings(start)
		return dedupe(start), nil
	}
	return tx.walk(start, tx.directGroups), nil
}

// PeopleUnder returns every object below a group: direct members and the
// members of nested groups, transitively (cycles tolerated).
func (tx *Tx) PeopleUnder(group string) []string {
	return tx.walk(tx.directMembers(group), tx.directMembers)
}

// walk is a breadth-first closure with a visited set, so a group cycle
// (A in B in A) ends.
func (tx *Tx) walk(start []string, next func(string) []string) []string {
	seen := map[string]bool{}
	queue := append([]string(nil), start...)
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		if seen[id] {
			continue
		}
		seen[id] = true
		queue = append(queue, next(id)...)
	}
	out := make([]string, 0, len(seen))
	for id := range seen {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

func dedupe(sorted []string) []string {
	out := sorted[:0]
	for i, s := range sorted {
		if i == 0 || s != sorted[i-1] {
			out = append(out, s)
		}
	}
	return out
}

// SetTimer schedules a re-evaluation of person at due, replacing any
// earlier timer of that person; a zero due removes it.
func (tx *Tx) SetTimer(person string, due time.Time) error {
	of := tx.btx.Bucket(bTimerOf)
	if old := of.Get([]byte(person)); old != nil {
		if err := tx.btx.Bucket(bTimers).Delete(append(append([]byte(nil), old...), person...)); err != nil {
			return err
		}
		if err := of.Delete([]byte(person)); err != nil {
			return err
		}
	}
	if due.IsZero() {
		return nil
	}
	k := timeKey(due)
	if err := tx.btx.Bucket(bTimers).Put(append(append([]byte(nil), k...), person...), nil); err != nil {
		return err
	}
	return of.Put([]byte(person), k)
}

// DueTimers returns the people whose timers are due at now, earliest first.
func (tx *Tx) DueTimers(now time.Time, max int) []string {
	var out []string
	limit := timeKey(now)
	c := tx.btx.Bucket(bTimers).Cursor()
	for k, _ := c.First(); k != nil && len(out) < max; k, _ = c.Next() {
		if bytes.Compare(k[:8], limit) > 0 {
			break
		}
		out = append(out, string(k[8:]))
	}
	return out
}

// NextTimer returns the earliest scheduled timer.
func (tx *Tx) NextTimer() (time.Time, bool) {
	k, _ := tx.btx.Bucket(bTimers).Cursor().First()
	if k == nil {
		return time.Time{}, false
	}
	return time.Unix(0, int64(getU64(k[:8]))), true
}

// PeopleAfter returns up to max person ids after after, in id order: a
// re-plan walks everyone in bounded transactions and resumes from the last
// id it planned.
func (tx *Tx) PeopleAfter(after string, max int) []string {
	var out []string
	c := tx.btx.Bucket(bPeople).Cursor()
	k, _ := c.Seek([]byte(after))
	if k != nil && string(k) == after {
		k, _ = c.Next()
	}
	for ; k != nil && len(out) < max; k, _ = c.Next() {
		out = append(out, string(k))
	}
	return out
}
