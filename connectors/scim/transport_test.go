package scim

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dirbridge/dirbridge/connectors"
)

// resetFirst answers like a server whose first n connections are reset
// (RST, as a load balancer restart does) and which then works.
func resetFirst(n int64, ok http.HandlerFunc) http.HandlerFunc {
	var seen atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) {
		if seen.Add(1) <= n {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.(*net.TCPConn).SetLinger(0) // close with RST
				_ = conn.Close()
			}
			return
		}
		ok(w, r)
	}
}

func userOK(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, `{"id":"u1","userName":"alice@corp.example","externalId":"guid-alice","active":true}`)
}

// Retry ownership: the client retries a reset idempotent request itself
// (the outbox would otherwise pay a whole backoff for a stale keep-alive
// connection) ...
func TestResetIdempotentRequestIsRetriedByTheClient(t *testing.T) {
	f := newFake(t, resetFirst(1, userOK))
	c := f.connector(t, Config{})
	acct, err := c.Apply(testCtx(t), updateRequest())
	if err != nil || acct.ExternalID != "u1" {
		t.Fatalf("Update = %+v, %v", acct, err)
	}
	if n := f.hits.Load(); n != 2 {
		t.Errorf("%d attempts, want 2", n)
	}
}

// ... but never a POST: a Create that may have reached the server goes
// back to the outbox, whose next attempt looks the account up first.
func TestResetPostIsNotRetried(t *testing.T) {
	f := newFake(t, resetFirst(1, userOK))
	c := f.connector(t, Config{})
	_, err := c.client.do(testCtx(t), exchange{method: http.MethodPost, path: "/Users", body: resource{}, what: "create"}, nil)
	if class, _ := connectors.ClassOf(err); err == nil || class != connectors.Retryable || connectors.CodeOf(err) != "transport" {
		t.Fatalf("err = %v, want a retryable transport error", err)
	}
	if n := f.hits.Load(); n != 1 {
		t.Errorf("%d attempts of a POST, want 1", n)
	}
}

// hang answers nothing until the client gives up or the test ends; it
// reads the body first, without which the server never notices the client
// leaving. inFlight (optional) is told about each request.
func hang(inFlight chan<- struct{}) (http.HandlerFunc, func()) {
	release := make(chan struct{})
	return func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if inFlight != nil {
			inFlight <- struct{}{}
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}, func() { close(release) }
}

// A server that never answers: the exchange times out, the idempotent one
// is tried 1+transportRetries times, and the result is Retryable.
func TestTimeout(t *testing.T) {
	h, release := hang(nil)
	f := newFake(t, h)
	t.Cleanup(release) // runs before the fake closes
	c := f.connector(t, Config{Timeout: "100ms"})
	start := time.Now()
	_, err := c.Apply(testCtx(t), updateRequest())
	if class, _ := connectors.ClassOf(err); err == nil || class != connectors.Retryable {
		t.Fatalf("err = %v, want Retryable", err)
	}
	if n := f.hits.Load(); n != 1+transportRetries {
		t.Errorf("%d attempts, want %d", n, 1+transportRetries)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %s", took)
	}
}

// A cancelled context stops at once and is not retried.
func TestCancelledContext(t *testing.T) {
	inFlight := make(chan struct{}, 1)
	h, release := hang(inFlight)
	f := newFake(t, h)
	t.Cleanup(release)
	c := f.connector(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-inFlight
		cancel()
	}()
	_, err := c.Apply(ctx, updateRequest())
	if err == nil || !strings.Contains(err.Error(), "context canceled") || f.hits.Load() != 1 {
		t.Fatalf("err = %v after %d attempts", err, f.hits.Load())
	}
}
