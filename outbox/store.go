// Package outbox is dirbridge's durable state: every lifecycle request, the
// per (app, person) desired/planned/confirmed state, the directory cursors,
// snapshots, membership and timer indexes, account links and the
// provisioning log, in one bbolt file.
//
// Rules it keeps (docs/design.md section 2):
//   - Nothing is sent to an app that is not first committed here. A directory
//     cursor and everything its page produced commit in one transaction (Update).
//   - Requests of one (app, person) are handed out in order, one at a time;
//     different people proceed in parallel; Deactivate and Freeze travel in a
//     priority lane and supersede queued or Failed Updates of the same person.
//   - Requests left in Provisioning by a crash are marked for verification on
//     Open, so a Create is never blindly re-posted.
//   - Many concurrent producers share one fsync (group commit); each Update
//     call returns only once its own changes are durable.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Options tune a Store. The zero value is production-ready.
type Options struct {
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
	// MaxBatch caps how many Update calls share one transaction; default 2048.
	MaxBatch int
	// NoSync skips fsync (benchmarks of CPU cost only; never in production).
	NoSync bool
}

// Store is the bbolt-backed state of one agent.
type Store struct {
	db   *bolt.DB
	now  func() time.Time
	path string

	commits  chan *call
	maxBatch int
	closeMu  sync.RWMutex
	closed   bool
	done     chan struct{}
}

// call is one Update waiting for the group committer.
type call struct {
	fn  func(*Tx) error
	err chan error
}

// Open opens (creating if needed, with owner-only permissions) the state file
// at path, migrates it to the current schema, and recovers requests that a
// crash left in Provisioning.
func Open(path string, opts Options) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("outbox: create state directory: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:        2 * time.Second,
		NoFreelistSync: true, // rebuilt on open; halves the bytes written per commit
		FreelistType:   bolt.FreelistMapType,
		NoSync:         opts.NoSync,
	})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s", ErrLocked, path)
	}
	if err != nil {
		return nil, fmt.Errorf("outbox: open %s: %w", path, err)
	}
	// The file holds personal data: tighten a file created by hand or by an
	// older version with wider permissions.
	if err := os.Chmod(path, 0o600); err != nil {
		db.Close()
		return nil, fmt.Errorf("outbox: restrict permissions of %s: %w", path, err)
	}
	s := &Store{db: db, path: path, now: opts.Now, maxBatch: opts.MaxBatch,
		commits: make(chan *call, 4096), done: make(chan struct{})}
	if s.now == nil {
		s.now = time.Now
	}
	if s.maxBatch <= 0 {
		s.maxBatch = 2048
	}
	if err := db.Update(func(btx *bolt.Tx) error { return migrate(btx, s.now()) }); err != nil {
		db.Close()
		return nil, fmt.Errorf("outbox: %s: %w", path, err)
	}
	if err := db.Update(func(btx *bolt.Tx) error { return s.tx(btx).recoverInflight() }); err != nil {
		db.Close()
		return nil, fmt.Errorf("outbox: recover %s: %w", path, err)
	}
	go s.committer()
	return s, nil
}

// Path returns the file the store lives in.
func (s *Store) Path() string { return s.path }

// Close waits for queued Updates, then closes the file.
func (s *Store) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	close(s.commits)
	s.closeMu.Unlock()
	<-s.done
	return s.db.Close()
}

func (s *Store) tx(btx *bolt.Tx) *Tx {
	if btx.Writable() {
		// Requests and the log are appended with growing sequence keys:
		// full pages mean fewer pages to write per commit (bbolt README).
		for _, b := range [][]byte{bRequests, bLog} {
			if bk := btx.Bucket(b); bk != nil {
				bk.FillPercent = 0.95
			}
		}
	}
	return &Tx{btx: btx, now: s.now()}
}

// View runs fn in a read-only transaction. Values read through Tx are
// copies and stay valid after fn returns.
func (s *Store) View(fn func(*Tx) error) error {
	return s.db.View(func(btx *bolt.Tx) error { return fn(s.tx(btx)) })
}

// Update runs fn in a write transaction shared with other concurrent Update
// calls (group commit) and returns once the transaction is durable. fn may
// run more than once (when another call in the same batch fails, the others
// are re-run), so it must only read and write through tx. It must not do
// network I/O.
func (s *Store) Update(ctx context.Context, fn func(*Tx) error) error {
	c := &call{fn: fn, err: make(chan error, 1)}
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return ErrClosed
	}
	select {
	case s.commits <- c:
	case <-ctx.Done():
		s.closeMu.RUnlock()
		return ctx.Err()
	}
	s.closeMu.RUnlock()
	// Once queued the call will commit or fail; wait for the outcome even if
	// ctx ends, so the caller never mistakes a durable change for a lost one.
	return <-c.err
}

// UpdateOne runs fn in a transaction of its own, bypassing group commit.
func (s *Store) UpdateOne(fn func(*Tx) error) error {
	return s.db.Update(func(btx *bolt.Tx) error { return fn(s.tx(btx)) })
}

// committer drains queued calls into shared transactions: one fsync for as
// many producers as are waiting.
func (s *Store) committer() {
	defer close(s.done)
	batch := make([]*call, 0, s.maxBatch)
	for c := range s.commits {
		batch = append(batch[:0], c)
	fill:
		for len(batch) < s.maxBatch {
			select {
			case c, ok := <-s.commits:
				if !ok {
					break fill
				}
				batch = append(batch, c)
			default:
				break fill
			}
		}
		s.commitBatch(batch)
	}
}

// commitBatch commits calls together. If one fails, the transaction is
// rolled back, the failing call gets its error alone, and the rest are
// committed again without it (bbolt's Batch does the same).
func (s *Store) commitBatch(batch []*call) {
	for len(batch) > 0 {
		failed := -1
		var ferr error
		err := s.db.Update(func(btx *bolt.Tx) error {
			for i, c := range batch {
				if err := runSafely(c.fn, s.tx(btx)); err != nil {
					failed, ferr = i, err
					return err
				}
			}
			return nil
		})
		if failed < 0 {
			for _, c := range batch {
				c.err <- err
			}
			return
		}
		batch[failed].err <- ferr
		batch = append(batch[:failed:failed], batch[failed+1:]...)
	}
}

// runSafely turns a panic in a producer's function into an error for that
// producer alone instead of killing the committer.
func runSafely(fn func(*Tx) error, tx *Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("outbox: update function panicked: %v", r)
		}
	}()
	return fn(tx)
}
