package connectors

import (
	"errors"
	"fmt"
	"time"
)

// Class says what the outbox should do with a failed request.
type Class int

const (
	// Retryable: a network error, a timeout, a 5xx. Try again with backoff.
	Retryable Class = iota
	// RateLimited: the app asked us to slow down (429, REQUEST_LIMIT_EXCEEDED).
	// Try again after RetryAfter; the whole app slows down.
	RateLimited
	// Permanent: the app refused this request for a reason a retry cannot fix
	// (a bad value, DUPLICATE_USERNAME). The request fails and waits for an
	// operator.
	Permanent
	// Conflict: an account already exists that belongs to somebody else (it
	// carries another anchor) or that cannot be linked safely. Never adopted.
	Conflict
	// Capacity: the app is out of licences (LICENSE_LIMIT_EXCEEDED). Creates and
	// Activates for the app pause; other operations go on.
	Capacity
	// NotFound: the account does not exist in the app any more.
	NotFound
)

var classNames = [...]string{"retryable", "rate-limited", "permanent", "conflict", "capacity", "not-found"}

func (c Class) String() string {
	if c >= 0 && int(c) < len(classNames) {
		return classNames[c]
	}
	return fmt.Sprintf("class(%d)", int(c))
}

// Error is a classified delivery failure.
type Error struct {
	Class      Class
	RetryAfter time.Duration // for RateLimited (and Retryable when the app said so)
	Code       string        // the app's own error code: scimType, Salesforce errorCode, HTTP status
	Err        error
}

func (e *Error) Error() string {
	msg := e.Class.String()
	if e.Code != "" {
		msg += " (" + e.Code + ")"
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns a classified error with a formatted message; %w wraps.
func Errorf(class Class, code, format string, args ...any) error {
	return &Error{Class: class, Code: code, Err: fmt.Errorf(format, args...)}
}

// ClassOf classifies err: the Class of the first *Error in its chain, or
// Retryable for anything unclassified (a network error is worth a retry;
// the attempt limit turns a persistent one into Failed).
func ClassOf(err error) (Class, time.Duration) {
	var ce *Error
	if errors.As(err, &ce) {
		return ce.Class, ce.RetryAfter
	}
	return Retryable, 0
}

// CodeOf returns the app error code carried by err, or "".
func CodeOf(err error) string {
	var ce *Error
	if errors.As(err, &ce) {
		return ce.Code
	}
	return ""
}
