package agent

import (
	"sync"
	"time"
)

// statusBoard keeps what the loops report for the status endpoint.
type statusBoard struct {
	mu   sync.Mutex
	sync SyncStatus
}

// SyncStatus is the directory side of the status.
type SyncStatus struct {
	Source          string    `json:"source,omitempty"`
	Watching        bool      `json:"watching"`
	FullReadStarted time.Time `json:"fullReadStarted,omitzero"`
	FullReadEnded   time.Time `json:"fullReadEnded,omitzero"`
	FullReadPeople  int       `json:"fullReadPeople"`
	FullReadError   string    `json:"fullReadError,omitempty"`
	LastChange      time.Time `json:"lastChange,omitzero"`
	ChangesSeen     int       `json:"changesSinceStart"`
	LastError       string    `json:"lastError,omitempty"`
	LastErrorAt     time.Time `json:"lastErrorAt,omitzero"`
	// EvalErrors are people whose mapping evaluation failed (most recent
	// first, at most maxEvalErrors); they keep their current accounts.
	EvalErrors []EvalError `json:"evaluationErrors,omitempty"`
}

// EvalError is one person the mapping could not evaluate.
type EvalError struct {
	Person string    `json:"person"`
	DN     string    `json:"dn"`
	Error  string    `json:"error"`
	At     time.Time `json:"at"`
}

const maxEvalErrors = 50

func newStatusBoard() *statusBoard { return &statusBoard{} }

func (b *statusBoard) setFullRead(start, end time.Time, people int, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sync.Watching = false
	b.sync.FullReadStarted, b.sync.FullReadEnded, b.sync.FullReadPeople = start, end, people
	b.sync.FullReadError = ""
	if err != nil {
		b.sync.FullReadError = err.Error()
	}
}

func (b *statusBoard) setWatching(source string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sync.Source, b.sync.Watching = source, true
}

func (b *statusBoard) setChange(at time.Time, n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sync.LastChange = at
	b.sync.ChangesSeen += n
	b.sync.LastError = ""
}

func (b *statusBoard) setSyncError(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sync.LastError, b.sync.LastErrorAt = err.Error(), time.Now().UTC()
}

func (b *statusBoard) addEvalError(e EvalError) {
	b.mu.Lock()
	defer b.mu.Unlock()
	kept := []EvalError{e}
	for _, old := range b.sync.EvalErrors {
		if old.Person != e.Person && len(kept) < maxEvalErrors {
			kept = append(kept, old)
		}
	}
	b.sync.EvalErrors = kept
}

func (b *statusBoard) get() SyncStatus {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.sync
	s.EvalErrors = append([]EvalError(nil), b.sync.EvalErrors...)
	return s
}
