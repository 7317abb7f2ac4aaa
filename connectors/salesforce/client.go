package salesforce

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/dirbridge/dirbridge/connectors"
	"github.com/hashicorp/go-retryablehttp"
	"github.com/rs/zerolog"
)

const (
	// maxErrorBody bounds what is read of an error (or token) body: a
	// Salesforce error array is a few hundred bytes.
	maxErrorBody = 4 << 10
	// maxBody bounds a success body: a query page holds at most 2,000 records.
	maxBody = 32 << 20
)

// client sends REST API calls to the org with a cached token, refreshing it
// once on INVALID_SESSION_ID, and tracks the API budget.
type client struct {
	cfg    Config
	http   *retryablehttp.Client
	auth   *tokenSource
	log    zerolog.Logger
	budget budget
}

func newClient(cfg Config, auth *tokenSource, log zerolog.Logger) *client {
	return &client{cfg: cfg, http: newHTTPClient(cfg), auth: auth, log: log}
}

// newHTTPClient retries only exchanges that never reached the org (a
// refused or failed dial): the outbox owns every other retry, and a POST
// that may have reached the org must not be sent twice.
func newHTTPClient(cfg Config) *retryablehttp.Client {
	rc := retryablehttp.NewClient()
	rc.Logger = nil
	rc.RetryMax = 2
	rc.RetryWaitMin = 200 * time.Millisecond
	rc.RetryWaitMax = 2 * time.Second
	rc.HTTPClient.Timeout = cfg.Timeout
	rc.CheckRetry = retryDialErrors
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	return rc
}

func retryDialErrors(ctx context.Context, _ *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	var op *net.OpError
	return err != nil && errors.As(err, &op) && op.Op == "dial", nil
}

// do sends one API call. path is relative to /services/data/vXX.X, or
// absolute when it starts with /services/ (a query's nextRecordsUrl). A
// non-nil in is sent as JSON; a non-nil out receives the JSON answer.
func (c *client) do(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: encode: %w", method, path, err)
		}
		body = b
	}
	for attempt := 0; ; attempt++ {
		tok, err := c.auth.get(ctx)
		if err != nil {
			return err
		}
		resp, err := c.send(ctx, tok, method, path, body)
		if err != nil {
			return connectors.Errorf(connectors.Retryable, "", "%s %s: %w", method, path, err)
		}
		err = c.handle(resp, out)
		if attempt == 0 && connectors.CodeOf(err) == "INVALID_SESSION_ID" {
			// The session expired or was revoked: one new token, one retry.
			c.log.Debug().Str("path", path).Msg("session expired, fetching a new token")
			c.auth.invalidate(tok)
			continue
		}
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		return nil
	}
}

func (c *client) send(ctx context.Context, tok *token, method, path string, body []byte) (*http.Response, error) {
	u := strings.TrimSuffix(tok.instanceURL, "/")
	if strings.HasPrefix(path, "/services/") {
		u += path
	} else {
		u += "/services/data/" + c.cfg.APIVersion + path
	}
	var raw any
	if body != nil {
		raw = body
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, method, u, raw)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tok.access)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.http.Do(req)
}

// handle records the budget header and decodes the answer or its error.
func (c *client) handle(resp *http.Response, out any) error {
	defer resp.Body.Close()
	c.budget.record(resp.Header.Get("Sforce-Limit-Info"))
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return apiError(resp.StatusCode, resp.Header, b)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return connectors.Errorf(connectors.Retryable, "", "read answer: %w", err)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent || len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return connectors.Errorf(connectors.Retryable, "", "decode answer: %w", err)
	}
	return nil
}

// budget is the org's API usage in the rolling 24-hour window, as the last
// Sforce-Limit-Info header ("api-usage=25/15000") said.
type budget struct {
	mu        sync.Mutex
	used, max int
}

func (b *budget) record(header string) {
	for _, part := range strings.Split(header, ",") {
		part = strings.TrimSpace(part)
		if !strings.HasPrefix(part, "api-usage=") {
			continue // per-app-api-usage= is the app's share, not the org's
		}
		var used, max int
		if _, err := fmt.Sscanf(strings.TrimPrefix(part, "api-usage="), "%d/%d", &used, &max); err != nil {
			return
		}
		b.mu.Lock()
		b.used, b.max = used, max
		b.mu.Unlock()
	}
}

func (b *budget) usage() (used, max int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used, b.max
}

// low reports whether fewer than reservePercent of the requests are left.
func (b *budget) low(reservePercent int) bool {
	used, max := b.usage()
	return max > 0 && (max-used)*100 < max*reservePercent
}
