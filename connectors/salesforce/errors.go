package salesforce

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dirbridge/dirbridge/connectors"
)

// defaultRateWait is how long to wait after REQUEST_LIMIT_EXCEEDED when the
// org sends no Retry-After: the daily API limit is a rolling 24-hour window,
// so capacity comes back gradually, not at a fixed time.
const defaultRateWait = 15 * time.Minute

// codeClasses classifies the Salesforce error codes that mean something
// other than "this request's values are wrong" (Permanent).
var codeClasses = map[string]connectors.Class{
	"UNABLE_TO_LOCK_ROW":     connectors.Retryable, // another transaction holds the row
	"SERVER_UNAVAILABLE":     connectors.Retryable,
	"INVALID_SESSION_ID":     connectors.Retryable, // still invalid after a fresh token
	"REQUEST_LIMIT_EXCEEDED": connectors.RateLimited,
	"LICENSE_LIMIT_EXCEEDED": connectors.Capacity,  // pauses Creates and Activates for the org
	"DUPLICATE_USERNAME":     connectors.Permanent, // usernames are unique across every org
	"ENTITY_IS_DELETED":      connectors.NotFound,
	"NOT_FOUND":              connectors.NotFound,
}

// restError is one element of a REST API error body:
// [{"message":"...","errorCode":"...","fields":[...]}].
type restError struct {
	Message   string   `json:"message"`
	ErrorCode string   `json:"errorCode"`
	Fields    []string `json:"fields"`
}

// recordError is one error of an sObject Collections SaveResult or
// DeleteResult; collections name the code statusCode, not errorCode.
type recordError struct {
	StatusCode string   `json:"statusCode"`
	Message    string   `json:"message"`
	Fields     []string `json:"fields"`
}

// apiError classifies a failed call from its status and error body.
func apiError(status int, h http.Header, body []byte) error {
	var errs []restError
	if err := json.Unmarshal(body, &errs); err != nil || len(errs) == 0 {
		return statusError(status, h, strings.TrimSpace(string(body)))
	}
	e := errs[0]
	class, ok := codeClasses[e.ErrorCode]
	if !ok {
		class = statusClass(status)
	}
	ce := &connectors.Error{Class: class, Code: e.ErrorCode, Err: describe(e.Message, e.Fields)}
	if class == connectors.RateLimited {
		ce.RetryAfter = retryAfter(h)
	}
	return ce
}

// statusError classifies a failure whose body is not a Salesforce error
// array (a proxy's page, an empty 503).
func statusError(status int, h http.Header, body string) error {
	if len(body) > 200 {
		body = body[:200]
	}
	ce := &connectors.Error{Class: statusClass(status), Code: strconv.Itoa(status),
		Err: fmt.Errorf("HTTP %d: %s", status, body)}
	if ce.Class == connectors.RateLimited {
		ce.RetryAfter = retryAfter(h)
	}
	return ce
}

func statusClass(status int) connectors.Class {
	switch {
	case status == http.StatusTooManyRequests:
		return connectors.RateLimited
	case status == http.StatusNotFound:
		return connectors.NotFound
	case status == http.StatusUnauthorized || status >= 500:
		return connectors.Retryable
	default:
		return connectors.Permanent
	}
}

// recordErr classifies the first error of a collection record result.
func recordErr(errs []recordError) error {
	if len(errs) == 0 {
		return connectors.Errorf(connectors.Retryable, "", "record failed without an error")
	}
	e := errs[0]
	class, ok := codeClasses[e.StatusCode]
	if !ok {
		class = connectors.Permanent
	}
	ce := &connectors.Error{Class: class, Code: e.StatusCode, Err: describe(e.Message, e.Fields)}
	if class == connectors.RateLimited {
		ce.RetryAfter = defaultRateWait
	}
	return ce
}

func describe(msg string, fields []string) error {
	if len(fields) > 0 {
		return fmt.Errorf("%s (fields %s)", msg, strings.Join(fields, ", "))
	}
	return errors.New(msg)
}

func retryAfter(h http.Header) time.Duration {
	if s, err := strconv.Atoi(h.Get("Retry-After")); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return defaultRateWait
}

// errShortAnswer reports a collection answer with fewer results than
// records sent; the records left without a result may or may not be saved,
// so the outbox retries them with Verify.
var errShortAnswer = connectors.Errorf(connectors.Retryable, "", "collection answer has fewer results than records sent")

// fmtErr prefixes err with the component and what was being done.
func fmtErr(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("salesforce: %s: %w", what, err)
}
