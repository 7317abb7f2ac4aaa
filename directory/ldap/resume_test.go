package ldap

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dirbridge/dirbridge/directory"
)

// resumer follows a directory through the acceptance steps the way the
// agent does across restarts: every step opens a NEW source and watches
// from the cursor of the last page the previous step handed over (the
// cursor the agent would have committed), until the step's markers arrive.
type resumer struct {
	t        *testing.T
	settings string
	attrs    []string
	cursor   []byte
	// mark changes the marker person and the marker group (description =
	// token); a step is complete when both came through, since a source
	// delivers a kind's changes in the order they were made.
	mark           func(token string)
	markP, markG   string // IDs of the markers
	seq            int
	perStepTimeout time.Duration
	stepDurations  []time.Duration
	markerAttr     string
	// settlePages (syncrepl) is how many pages without entries must also
	// arrive: RFC 4533 gives no cookie with refresh-phase entries, only
	// with the refreshDone message of each search, so an agent that stops
	// before those resumes from the older cookie and sees entries again.
	settlePages int
}

// changes is what one step delivered, markers left out.
type changes struct {
	entries map[string][]directory.Entry // by ID, in arrival order
	deleted []string
	pages   int
}

func (c changes) ids() []string {
	ids := slices.Clone(c.deleted)
	for id := range c.entries {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return slices.Compact(ids)
}

// last is the latest delivered state of id (fails when it did not come).
func (c changes) last(t *testing.T, id string) directory.Entry {
	t.Helper()
	es := c.entries[id]
	if len(es) == 0 {
		t.Fatalf("no entry for %s among %v", id, c.ids())
	}
	return es[len(es)-1]
}

// step runs change, restarts the source, and returns what arrived; it
// fails unless exactly the IDs in want (entries and deletions) arrived.
func (r *resumer) step(name string, change func(), want ...string) changes {
	r.t.Helper()
	return r.stepWant(name, change, func() []string { return want })
}

// stepWant is step for IDs known only once change ran (new entries).
func (r *resumer) stepWant(name string, change func(), wantIDs func() []string) changes {
	r.t.Helper()
	change()
	got := r.collect(name)
	want := slices.Clone(wantIDs())
	slices.Sort(want)
	if w := slices.Compact(want); !slices.Equal(got.ids(), w) {
		r.t.Fatalf("step %q: delivered %v, want exactly %v (entries %v, deleted %v)", name, got.ids(), w, entryDNs(got), got.deleted)
	}
	return got
}

func entryDNs(c changes) []string {
	var out []string
	for _, es := range c.entries {
		for _, e := range es {
			out = append(out, e.DN)
		}
	}
	return out
}

// collect restarts the source and watches until both markers of a fresh
// token arrived.
func (r *resumer) collect(name string) changes {
	r.t.Helper()
	start := time.Now()
	r.seq++
	token := "m" + nonce()
	r.mark(token)
	src := newSource(r.t, r.settings, r.attrs...)
	ctx, cancel := context.WithTimeout(context.Background(), r.perStepTimeout)
	defer cancel()
	got := changes{entries: map[string][]directory.Entry{}}
	var sawP, sawG bool
	empty := 0
	err := src.Watch(ctx, r.cursor, func(_ context.Context, p directory.Page) error {
		got.pages++
		if p.Cursor == nil {
			r.t.Errorf("step %q: a Watch page without a cursor", name)
		}
		r.cursor = p.Cursor
		for _, e := range p.Entries {
			switch e.ID {
			case r.markP:
				sawP = sawP || slices.Contains(e.Attributes[r.markerAttr], token)
			case r.markG:
				sawG = sawG || slices.Contains(e.Attributes[r.markerAttr], token)
			default:
				got.entries[e.ID] = append(got.entries[e.ID], e)
			}
		}
		got.deleted = append(got.deleted, p.Deleted...)
		if len(p.Entries)+len(p.Deleted) == 0 {
			empty++
		}
		if testing.Verbose() {
			r.t.Logf("step %q page: %d entries %v, deleted %v", name, len(p.Entries), pageDNs(p), p.Deleted)
		}
		if sawP && sawG && empty >= r.settlePages {
			cancel() // the agent stops here: this page is committed
		}
		return nil
	})
	src.Close()
	if !sawP || !sawG || !errors.Is(err, context.Canceled) {
		r.t.Fatalf("step %q: markers person=%v group=%v within %s; Watch: %v", name, sawP, sawG, r.perStepTimeout, err)
	}
	r.stepDurations = append(r.stepDurations, time.Since(start))
	return got
}

func attrIs(t *testing.T, e directory.Entry, name, want string) {
	t.Helper()
	if got := e.Attributes[strings.ToLower(name)]; len(got) != 1 || got[0] != want {
		t.Errorf("%s: %s = %q, want %q", e.DN, name, got, want)
	}
}

func pageDNs(p directory.Page) []string {
	var out []string
	for _, e := range p.Entries {
		out = append(out, e.DN)
	}
	return out
}
