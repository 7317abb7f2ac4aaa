package outbox

import "errors"

// Sentinel errors of the outbox. Wrap with %w; test with errors.Is.
var (
	// ErrIllegalTransition: the request's state machine forbids the change.
	ErrIllegalTransition = errors.New("outbox: illegal state transition")
	// ErrNotFound: no such request.
	ErrNotFound = errors.New("outbox: not found")
	// ErrSchemaTooNew: the state file was written by a newer dirbridge.
	ErrSchemaTooNew = errors.New("outbox: state file is from a newer dirbridge version")
	// ErrLocked: another process holds the state file.
	ErrLocked = errors.New("outbox: state file is in use by another dirbridge process")
	// ErrClosed: the store is closed.
	ErrClosed = errors.New("outbox: store is closed")
	// ErrInvalid: the caller passed something the outbox cannot store.
	ErrInvalid = errors.New("outbox: invalid argument")
)
