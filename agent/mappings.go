package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dirbridge/dirbridge/config"
	"github.com/dirbridge/dirbridge/connectors"
	"github.com/dirbridge/dirbridge/mapping"
	"github.com/dirbridge/dirbridge/outbox"
)

// mappings holds the running mapping, reloads it when its files change, and
// applies it to everyone through a durable re-plan job.
//
// What the store was planned with is stored (the applied digest): on start,
// on a reload and at the end of a full read, a mapping that differs from it
// starts a re-plan job that walks everyone in bounded transactions, records
// its progress in the store, and resumes after a crash. Its requests form
// one batch for the mass-change guard. A broken file is rejected: the last
// good mapping keeps running and the error is shown. A mapping that reads
// directory attributes the store does not hold yet waits, with the reason
// shown, until a full read that fetches them has completed.
type mappings struct {
	a     *Agent
	files []string
	wake  chan struct{} // the re-plan loop has a job

	mu      sync.RWMutex
	cur     *planner
	digest  string // of the files cur was compiled from
	tried   string // digest of the files last tried (loaded, rejected or pending)
	pending bool   // the files compile but wait for a full read
	state   MappingStatus
}

// MappingStatus is what the status endpoint shows about the mapping.
type MappingStatus struct {
	Files    []string  `json:"files"`
	LoadedAt time.Time `json:"loadedAt,omitzero"`
	Digest   string    `json:"digest,omitempty"`
	Error    string    `json:"error,omitempty"`
	// Waiting says why the configured mapping is not used for planning yet.
	Waiting  string         `json:"waiting,omitempty"`
	Replan   *ReplanStatus  `json:"replan,omitempty"`
	LastDiff map[string]int `json:"lastDiff,omitempty"` // "app Op" -> requests planned by the last re-plan
}

// ReplanStatus is a running re-plan job's progress.
type ReplanStatus struct {
	Cause   string    `json:"cause"`
	Started time.Time `json:"started"`
	People  int       `json:"people"` // planned so far
	Batch   uint64    `json:"batch"`
}

// Store keys of the mapping's durable state.
const (
	appliedKey = "mapping.applied" // appliedMapping: what the store was planned with
	replanKey  = "mapping.replan"  // replanJob: the running re-plan, if any
)

type appliedMapping struct {
	Digest string         `json:"digest"`
	At     time.Time      `json:"at"`
	Diff   map[string]int `json:"diff,omitempty"`
}

type replanJob struct {
	Digest  string         `json:"digest"`
	Cause   string         `json:"cause"`
	Batch   uint64         `json:"batch"`
	After   string         `json:"after,omitempty"` // the last person id planned
	People  int            `json:"people"`
	Diff    map[string]int `json:"diff,omitempty"`
	Started time.Time      `json:"started"`
}

// replanChunk bounds one re-plan transaction: other writers (directory
// changes, deliveries) get the store between chunks, and a crash loses at
// most one chunk's work, which the resumed job redoes.
const replanChunk = 500

func newMappings(a *Agent, cfg *config.Config) *mappings {
	m := &mappings{a: a, wake: make(chan struct{}, 1)}
	for _, f := range cfg.Mapping.Files {
		m.files = append(m.files, cfg.Resolve(f))
	}
	m.state.Files = m.files
	return m
}

// storeResolver resolves group DNs written in mapping files through the
// store's DN index (filled by directory reads).
type storeResolver struct{ s *outbox.Store }

func (r storeResolver) ResolveGroup(dn string) (id string, ok bool, err error) {
	err = r.s.View(func(tx *outbox.Tx) error {
		id, ok = tx.IDByDN(dn)
		if ok {
			_, ok, err = tx.Group(id)
		}
		return err
	})
	return id, ok, err
}

// attributes checks the mapping files and returns the directory attributes
// they read, before the directory has been read (group names resolve later,
// against the store).
func (m *mappings) attributes() ([]string, error) {
	ev, err := mapping.Load(m.files, mapping.AnyGroup{})
	if err != nil {
		return nil, fmt.Errorf("mapping: %w", err)
	}
	return lowerAll(ev.Attributes()), nil
}

// errWaiting: the mapping compiles but cannot be used before a full read.
var errWaiting = errors.New("mapping: waiting for a full read")

// load compiles the files against the store. On success the new mapping
// replaces the running one and a re-plan job is made sure of; a mapping
// that reads attributes the store lacks asks for a full read and waits.
func (m *mappings) load(ctx context.Context, cause string) error {
	digest, err := m.compile()
	if err != nil {
		return err
	}
	return m.ensureJob(ctx, digest, cause)
}

// compile makes the files the running mapping when they compile against
// the store and the store holds what they read; it plans nothing (offline
// commands use it as it is).
func (m *mappings) compile() (string, error) {
	digest, err := m.filesDigest()
	if err != nil {
		return "", m.rejected(digest, err)
	}
	ev, err := mapping.Load(m.files, storeResolver{m.a.store})
	if err != nil {
		return "", m.rejected(digest, err)
	}
	if missing := m.a.missingAttributes(lowerAll(ev.Attributes())); len(missing) > 0 {
		m.mu.Lock()
		m.tried, m.pending = digest, true
		m.state.Error = ""
		m.state.Waiting = fmt.Sprintf("the mapping reads %s, which the agent has not read from the directory yet; "+
			"it is used once the full read that fetches them completes", strings.Join(missing, ", "))
		m.mu.Unlock()
		m.a.widenSource(lowerAll(ev.Attributes()))
		return "", errWaiting
	}
	m.mu.Lock()
	m.cur, m.digest, m.tried, m.pending = m.newPlanner(ev), digest, digest, false
	m.state.Error, m.state.Waiting, m.state.LoadedAt, m.state.Digest = "", "", m.a.now(), digest
	m.mu.Unlock()
	return digest, nil
}

func (m *mappings) rejected(digest string, err error) error {
	first := !m.a.hasFullRead()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tried = digest
	if first && !errors.Is(err, os.ErrNotExist) {
		// Before the first full read no group resolves: that is waiting,
		// not an error; a real error shows again after the read.
		m.state.Waiting = "the mapping is used once the first full read has read the directory's groups"
		return fmt.Errorf("%w: %w", errWaiting, err)
	}
	m.state.Error = err.Error()
	return err
}

func lowerAll(in []string) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		out = append(out, strings.ToLower(s))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (m *mappings) newPlanner(ev mapping.Evaluator) *planner {
	policy := map[string]map[connectors.Operation]bool{}
	for name, app := range m.a.cfg.Apps {
		policy[name] = map[connectors.Operation]bool{}
		for _, op := range app.Approve {
			policy[name][connectors.Operation(op)] = true
		}
	}
	return &planner{eval: ev, policy: policy, evalFailed: m.a.evalFailed}
}

// planner returns the running mapping's planner, nil before the first
// successful load.
func (m *mappings) planner() *planner {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.cur
}

// Status returns the mapping's state for the status endpoint.
func (m *mappings) Status() MappingStatus {
	m.mu.RLock()
	s := m.state
	m.mu.RUnlock()
	s.LastDiff, s.Replan = nil, nil
	_ = m.a.store.View(func(tx *outbox.Tx) error {
		var job replanJob
		if readJSON(tx, replanKey, &job) {
			s.Replan = &ReplanStatus{Cause: job.Cause, Started: job.Started, People: job.People, Batch: job.Batch}
		}
		var applied appliedMapping
		if readJSON(tx, appliedKey, &applied) {
			s.LastDiff = applied.Diff
		}
		return nil
	})
	return s
}

// readJSON decodes a JSON value kept under a cursor key; false when absent.
func readJSON(tx *outbox.Tx, key string, v any) bool {
	raw := tx.Cursor(key)
	return len(raw) > 0 && json.Unmarshal(raw, v) == nil
}

func putJSON(tx *outbox.Tx, key string, v any) error {
	if v == nil {
		return tx.PutCursor(key, nil)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.PutCursor(key, raw)
}

// filesDigest identifies the mapping: its files' bytes and the apps it
// plans for.
func (m *mappings) filesDigest() (string, error) {
	h := sha256.New()
	for _, f := range m.files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("mapping: %w", err)
		}
		h.Write(b)
		h.Write([]byte{0})
	}
	for _, app := range m.a.cfg.AppNames() {
		if !m.a.cfg.Apps[app].Disabled {
			h.Write([]byte(app + "\x00"))
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ensureJob starts a re-plan job for digest unless the store was planned
// with it already or its job is running; a job for an older mapping is
// closed (what it planned is decided by the guard as its own batch) and
// replaced.
func (m *mappings) ensureJob(ctx context.Context, digest, cause string) error {
	var old uint64
	started := false
	err := m.a.store.Update(ctx, func(tx *outbox.Tx) error {
		old, started = 0, false
		var applied appliedMapping
		var job replanJob
		if readJSON(tx, appliedKey, &applied) && applied.Digest == digest {
			return nil
		}
		if readJSON(tx, replanKey, &job) {
			if job.Digest == digest {
				return nil
			}
			old = job.Batch
		}
		batch, err := tx.OpenBatch(cause)
		if err != nil {
			return err
		}
		started = true
		return putJSON(tx, replanKey, replanJob{Digest: digest, Cause: cause, Batch: batch, Started: tx.Now()})
	})
	if err != nil {
		return err
	}
	if old != 0 {
		if err := m.a.closeBatch(ctx, old); err != nil {
			return err
		}
	}
	if started {
		m.a.log.Info().Str("cause", cause).Msg("re-planning everyone with the mapping")
	}
	m.kick()
	return nil
}

func (m *mappings) kick() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// replanLoop carries out re-plan jobs, one bounded chunk per transaction.
func (m *mappings) replanLoop(ctx context.Context) error {
	for {
		if err := m.runJob(ctx); err != nil && ctx.Err() == nil {
			m.a.log.Error().Err(err).Msg("re-planning with the mapping; retrying")
			select {
			case <-ctx.Done():
			case <-time.After(m.a.cfg.Sync.RetryInterval):
			}
			m.kick()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-m.wake:
		}
	}
}

// runJob advances the stored job until it is done or the running mapping is
// not the one it plans for (a newer load replaces the job).
func (m *mappings) runJob(ctx context.Context) error {
	for ctx.Err() == nil {
		m.mu.RLock()
		p, digest := m.cur, m.digest
		m.mu.RUnlock()
		var job replanJob
		done, found := false, false
		err := m.a.store.Update(ctx, func(tx *outbox.Tx) error {
			job, done = replanJob{}, false
			if found = readJSON(tx, replanKey, &job); !found || p == nil || job.Digest != digest {
				return nil
			}
			var err error
			done, err = m.replanChunk(tx, p, &job)
			return err
		})
		if err != nil || !found || p == nil || job.Digest != digest {
			return err
		}
		m.a.poke()
		if done {
			m.a.log.Info().Str("cause", job.Cause).Int("people", job.People).Interface("planned", job.Diff).
				Dur("took", m.a.now().Sub(job.Started)).Msg("mapping applied to everyone")
			m.a.wakeTimers()
			return m.a.settleBatch(ctx, job.Batch)
		}
	}
	return ctx.Err()
}

// replanChunk plans the next chunk of people; after the last one it closes
// the job's batch and records the mapping as applied, in the same
// transaction.
func (m *mappings) replanChunk(tx *outbox.Tx, p *planner, job *replanJob) (bool, error) {
	done, err := m.replanChunkOf(tx, p, job, replanChunk)
	if err != nil || done {
		return done, err
	}
	return false, putJSON(tx, replanKey, job)
}

// replanChunkOf plans up to n people of the job and reports whether it
// finished the job (then the batch is closed and the mapping recorded as
// applied).
func (m *mappings) replanChunkOf(tx *outbox.Tx, p *planner, job *replanJob, n int) (bool, error) {
	ids := tx.PeopleAfter(job.After, n)
	if job.Diff == nil {
		job.Diff = map[string]int{}
	}
	for _, id := range ids {
		planned, err := p.plan(tx, id, batchRun{job.Batch, job.Cause}, m.a.now())
		if err != nil {
			return false, err
		}
		for _, pl := range planned {
			job.Diff[pl.App+" "+string(pl.Op)]++
		}
		job.After = id
		job.People++
	}
	if len(ids) == n {
		return false, nil
	}
	if err := m.a.closeBatchTx(tx, job.Batch); err != nil {
		return false, err
	}
	if err := putJSON(tx, appliedKey, appliedMapping{Digest: job.Digest, At: tx.Now(), Diff: job.Diff}); err != nil {
		return false, err
	}
	return true, putJSON(tx, replanKey, nil)
}

// startCause names the re-plan a start may need: the first sync when the
// store was never planned with any mapping, else a mapping change.
func (m *mappings) startCause() string {
	cause := "first sync"
	_ = m.a.store.View(func(tx *outbox.Tx) error {
		var applied appliedMapping
		if readJSON(tx, appliedKey, &applied) {
			cause = "mapping change"
		}
		return nil
	})
	return cause
}

// jobBatch returns the batch the running re-plan job owns, 0 if none.
func jobBatch(tx *outbox.Tx) uint64 {
	var job replanJob
	if readJSON(tx, replanKey, &job) {
		return job.Batch
	}
	return 0
}

// watch reloads the mapping when its files change, and retries a mapping
// that could not be activated (groups not read yet, attributes missing)
// after each full read.
func (m *mappings) watch(ctx context.Context) error {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		digest, err := m.filesDigest()
		m.mu.RLock()
		same := digest == m.tried
		m.mu.RUnlock()
		if err != nil || same {
			continue
		}
		m.reload(ctx, "mapping change")
	}
}

// reload loads the files and logs the outcome.
func (m *mappings) reload(ctx context.Context, cause string) {
	switch err := m.load(ctx, cause); {
	case err == nil:
		m.a.log.Info().Str("cause", cause).Msg("mapping loaded")
	case errors.Is(err, errWaiting), errors.Is(err, context.Canceled):
		m.a.log.Info().Str("why", m.Status().Waiting).Msg("mapping loaded; waiting for a full read before it is used")
	default:
		m.a.log.Error().Err(err).Msg("mapping rejected; the last good mapping keeps running")
	}
}

// afterFullRead activates a mapping that waited for the read (its groups or
// attributes are in the store now), and re-plans with the running one when
// the store was planned with something else.
func (m *mappings) afterFullRead(ctx context.Context, cause string) {
	m.mu.RLock()
	active := m.cur != nil && !m.pending
	digest := m.digest
	m.mu.RUnlock()
	if !active {
		m.reload(ctx, cause)
	} else if err := m.ensureJob(ctx, digest, cause); err != nil && ctx.Err() == nil {
		m.a.log.Error().Err(err).Msg("re-planning with the mapping")
	}
	// The read's own job runs here, before the sync loop watches again: the
	// first sync is planned when the first full read is done.
	if err := m.runJob(ctx); err != nil && ctx.Err() == nil {
		m.a.log.Error().Err(err).Msg("re-planning with the mapping; the re-plan loop retries")
		m.kick()
	}
}
