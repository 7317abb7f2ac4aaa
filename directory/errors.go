package directory

import "errors"

// Sentinel errors of the directory layer. Wrap them with %w and a component
// prefix; test with errors.Is.
var (
	// ErrFullReadRequired means a saved cursor cannot be continued (another
	// domain controller, a restored DC, a cursor older than the tombstone
	// lifetime, a replaced LDIF file). The agent runs a full read.
	ErrFullReadRequired = errors.New("directory: full read required")

	// ErrNotFound means a looked-up entry does not exist.
	ErrNotFound = errors.New("directory: entry not found")
)
