// Package agent is dirbridge's engine: it follows the directory, plans
// lifecycle requests from the mapping into the outbox, delivers them through
// connectors, and reports its own Status (package statusapi serves it).
//
//	directory.Source --pages--> sync (snapshots, memberships, cursor)
//	                              |  one store transaction per page
//	                              v
//	mapping.Evaluator --> planner (desired vs planned) --> outbox requests
//	                                                           |
//	                       dispatcher (workers per app) <------+--> connectors
package agent

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/dirbridge/dirbridge/config"
	"github.com/dirbridge/dirbridge/connectors"
	"github.com/dirbridge/dirbridge/connectors/mock"
	"github.com/dirbridge/dirbridge/directory"
	"github.com/dirbridge/dirbridge/outbox"
)

// Options configure an Agent.
type Options struct {
	Config *config.Config
	Logger zerolog.Logger
	// DryRun replaces every app's connector with the mock target and keeps
	// its own state in DryRunDir (state.db and one <app>.db per app), so
	// nothing reaches a real app, every would-be request is recorded, and
	// the real state file is never opened.
	DryRun bool
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
	// NoConnectors opens no app (preview and offline inspection).
	NoConnectors bool
}

// Agent is one running dirbridge.
type Agent struct {
	cfg   *config.Config
	log   zerolog.Logger
	now   func() time.Time
	store *outbox.Store
	maps  *mappings
	guard *guard

	srcMu    sync.Mutex
	source   directory.Source
	srcAttrs []string // what the source reads now
	want     []string // what it must read: the mapping's and the store's attributes
	// widened wakes the sync loop when want grew (a mapping reads more).
	widened chan struct{}
	// round is the batch of the change round being applied (Page.More), 0
	// between rounds; only the sync loop uses it.
	round uint64

	apps   map[string]*appRunner
	status *statusBoard
	// fullNow carries an operator's request for a full read (true: accept a
	// read much smaller than the last one).
	fullNow chan bool
	// timersChanged wakes the timer loop after a commit that may have set
	// an earlier timer.
	timersChanged chan struct{}
}

// sourceCursor is the key of the directory cursor in the store.
const sourceCursor = "directory"

// New opens the state file, the directory source and every app's connector.
func New(opts Options) (*Agent, error) {
	cfg := opts.Config
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	a := &Agent{cfg: cfg, log: opts.Logger, now: now, status: newStatusBoard(),
		fullNow: make(chan bool, 1), timersChanged: make(chan struct{}, 1), widened: make(chan struct{}, 1),
		guard: &guard{cfg: cfg}}
	path := cfg.Resolve(cfg.State.Path)
	if opts.DryRun {
		path = filepath.Join(DryRunDir(cfg), "state.db")
	}
	store, err := outbox.Open(path, outbox.Options{Now: now})
	if err != nil {
		return nil, err
	}
	a.store = store
	a.restoreStatus()
	if err := a.open(opts.DryRun, opts.NoConnectors); err != nil {
		a.Close()
		return nil, err
	}
	if !opts.DryRun {
		if err := a.repairDryRunResidue(); err != nil {
			a.Close()
			return nil, err
		}
	}
	return a, nil
}

// DryRunDir is where `run --dry-run` keeps its own state and the mock
// targets that record what would have been sent: a folder beside the real
// state file, which a dry run never opens.
func DryRunDir(cfg *config.Config) string {
	return filepath.Join(filepath.Dir(cfg.Resolve(cfg.State.Path)), "dryrun")
}

func (a *Agent) open(dryRun, noConnectors bool) error {
	a.maps = newMappings(a, a.cfg)
	attrs, err := a.maps.attributes()
	if err != nil {
		return err
	}
	if err := a.store.Update(context.Background(), func(tx *outbox.Tx) error {
		have := coveredAttributes(tx)
		if have == nil && tx.Cursor(sourceCursor) != nil {
			// A state file from before the store recorded its attributes:
			// it was read with what the mapping read then, assumed to be now.
			have = attrs
			if err := putJSON(tx, attrsKey, have); err != nil {
				return err
			}
		}
		a.want = union(attrs, have)
		wrong, err := tx.RecountActive()
		for app, c := range wrong {
			a.log.Warn().Str("app", app).Int("counted", c[1]).Int("kept", c[0]).Msg("the active-account count was wrong and is corrected")
		}
		return err
	}); err != nil {
		return err
	}
	if err := a.openSource(); err != nil {
		return err
	}
	if _, err := a.maps.compile(); err != nil && !errors.Is(err, errWaiting) {
		a.log.Info().Err(err).Msg("mapping not active yet: its groups resolve after the first full read")
	}
	a.apps = map[string]*appRunner{}
	for _, name := range a.cfg.AppNames() {
		app := a.cfg.Apps[name]
		if app.Disabled || noConnectors {
			continue
		}
		c, err := a.newConnector(name, app, dryRun)
		if err != nil {
			return err
		}
		a.apps[name] = newAppRunner(a, name, app, c)
	}
	return nil
}

func (a *Agent) newConnector(name string, app config.App, dryRun bool) (connectors.Connector, error) {
	env := connectors.Env{App: name, StateDir: filepath.Dir(a.store.Path()), Decode: app.Settings.Decode,
		Logger: a.log.With().Str("component", "connector").Str("app", name).Logger()}
	if dryRun {
		return mock.Open(mock.Settings{File: filepath.Join(env.StateDir, name+".db")})
	}
	return connectors.New(app.Connector, env)
}

// evalFailed records a person the mapping could not evaluate.
func (a *Agent) evalFailed(personID, dn string, err error) {
	a.log.Warn().Err(err).Str("person", personID).Str("dn", dn).Msg("the mapping cannot be evaluated for this person; their accounts stay as they are")
	a.status.addEvalError(EvalError{Person: personID, DN: dn, Error: err.Error(), At: a.now()})
}

// restoreStatus shows the last complete full read of an earlier run.
func (a *Agent) restoreStatus() {
	var meta fullReadMeta
	_ = a.store.View(func(tx *outbox.Tx) error { return json.Unmarshal(orNull(tx.Cursor(fullReadKey)), &meta) })
	if !meta.Finished.IsZero() {
		a.status.setFullRead(time.Time{}, meta.Finished, meta.People, nil)
	}
}

// Store gives read access to the agent's state (CLI, tests).
func (a *Agent) Store() *outbox.Store { return a.store }

// Run runs until ctx ends: directory sync, timers, mapping reloads,
// and delivery. The status endpoint (package statusapi) runs beside it.
func (a *Agent) Run(ctx context.Context) error {
	if err := a.recoverBatches(ctx); err != nil {
		return err
	}
	a.maps.reload(ctx, a.maps.startCause()) // re-plans if the store was planned with another mapping
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.syncLoop(ctx) })
	g.Go(func() error { return a.timerLoop(ctx) })
	g.Go(func() error { return a.maps.watch(ctx) })
	g.Go(func() error { return a.maps.replanLoop(ctx) })
	for _, r := range a.apps {
		g.Go(func() error { return r.run(ctx) })
	}
	g.Go(func() error { return a.housekeeping(ctx) })
	err := g.Wait()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// Close releases everything New opened.
func (a *Agent) Close() error {
	var errs []error
	for _, r := range a.apps {
		errs = append(errs, r.conn.Close())
	}
	if src := a.src(); src != nil {
		errs = append(errs, src.Close())
	}
	errs = append(errs, a.store.Close())
	return errors.Join(errs...)
}

// poke wakes the dispatchers: new requests were committed.
func (a *Agent) poke() {
	for _, r := range a.apps {
		r.poke()
	}
}

// longestGuardWindow is the longest window any app's guard looks back.
func (a *Agent) longestGuardWindow() time.Duration {
	w := a.cfg.Guard.Window
	for _, app := range a.cfg.AppNames() {
		w = max(w, a.cfg.GuardFor(app).Window)
	}
	return w
}

// housekeeping prunes the provisioning log and finished requests daily.
func (a *Agent) housekeeping(ctx context.Context) error {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	var last time.Time
	for {
		if a.now().Sub(last) >= 24*time.Hour {
			last = a.now()
			err := a.store.Update(ctx, func(tx *outbox.Tx) error {
				before := a.now().Add(-a.cfg.State.LogRetention)
				logs, reqs, err := tx.Prune(before)
				if logs+reqs > 0 {
					a.log.Info().Int("logEntries", logs).Int("requests", reqs).Msg("pruned history past retention")
				}
				if err == nil {
					_, err = tx.PruneBatches(before)
				}
				if err == nil {
					err = tx.PruneGuard(a.now().Add(-a.longestGuardWindow()))
				}
				return err
			})
			if err != nil && !errors.Is(err, outbox.ErrClosed) {
				a.log.Error().Err(err).Msg("pruning history")
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
