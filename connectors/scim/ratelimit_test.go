package scim

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/dirbridge/dirbridge/connectors"
)

// fakeClock drives a limiter's pause without sleeping: sleep records the
// wait and moves the clock on.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Sleep(_ context.Context, d time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.slept = append(f.slept, d)
	f.now = f.now.Add(d)
	return nil
}

func (f *fakeClock) install(l *limiter) { l.now, l.sleep = f.Now, f.Sleep }

func TestLimiterPauseNeverShortens(t *testing.T) {
	clk := &fakeClock{now: fixedNow}
	l := newLimiter(RateLimitConfig{})
	clk.install(l)
	l.PauseFor(10 * time.Second)
	l.PauseFor(2 * time.Second) // a shorter Retry-After from another worker
	if err := l.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(clk.slept) != 1 || clk.slept[0] != 10*time.Second {
		t.Errorf("slept %v, want [10s]", clk.slept)
	}
	if err := l.Wait(context.Background()); err != nil || len(clk.slept) != 1 {
		t.Errorf("a pause that has passed still waits: %v %v", clk.slept, err)
	}
}

// One worker's 429 slows every worker of the app: the next request, from
// anywhere, waits for Retry-After before it is sent.
func TestRateLimitedAnswerPausesTheApp(t *testing.T) {
	var calls int
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 {
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		userOK(w, r)
	})
	c := f.connector(t, Config{})
	clk := &fakeClock{now: fixedNow}
	clk.install(c.client.limiter)
	c.client.now = clk.Now
	_, err := c.Apply(testCtx(t), updateRequest())
	if class, after := connectors.ClassOf(err); class != connectors.RateLimited || after != 3*time.Second {
		t.Fatalf("first: %v", err)
	}
	if _, err := c.Apply(testCtx(t), updateRequest()); err != nil {
		t.Fatalf("second: %v", err)
	}
	if len(clk.slept) != 1 || clk.slept[0] != 3*time.Second {
		t.Errorf("slept %v before the second request, want [3s]", clk.slept)
	}
}

// The token bucket spaces requests at the configured rate: 5 requests at
// 1200/min with burst 1 take at least 4 intervals of 50 ms.
func TestTokenBucketSpacesRequests(t *testing.T) {
	f := newFake(t, userOK)
	c := f.connector(t, Config{RateLimit: RateLimitConfig{RequestsPerMinute: 1200, Burst: 1}})
	start := time.Now()
	for i := 0; i < 5; i++ {
		if _, err := c.Apply(testCtx(t), updateRequest()); err != nil {
			t.Fatal(err)
		}
	}
	if took := time.Since(start); took < 190*time.Millisecond {
		t.Errorf("5 requests at 20/s took %s, want >= 200ms", took)
	}
}

// A rate configured above the provider's real limit comes down on 429s
// (once per burst of them) and goes back up after quiet time.
func TestLimiterAdaptsToTheRealLimit(t *testing.T) {
	clk := &fakeClock{now: fixedNow}
	l := newLimiter(RateLimitConfig{RequestsPerMinute: 240, Burst: 1})
	clk.install(l)
	perMinute := func() float64 { return float64(l.bucket.Limit()) * 60 }
	l.RateLimited(time.Second)
	l.RateLimited(time.Second) // in flight with the first: counts once
	if got := perMinute(); got < 191.9 || got > 192.1 {
		t.Fatalf("after a 429: %.1f/min, want 192", got)
	}
	clk.now = clk.now.Add(2 * time.Second)
	l.RateLimited(time.Second)
	if got := perMinute(); got < 153.5 || got > 153.7 {
		t.Fatalf("after a second 429: %.1f/min, want 153.6", got)
	}
	l.Succeeded() // not quiet long enough yet
	if got := perMinute(); got > 153.7 {
		t.Fatalf("rose too early: %.1f/min", got)
	}
	for i := 0; i < 10; i++ {
		clk.now = clk.now.Add(speedUpAfter)
		l.Succeeded()
	}
	if got := perMinute(); got != 240 {
		t.Errorf("after quiet time: %.1f/min, want back at the configured 240", got)
	}
	for i := 0; i < 50; i++ {
		clk.now = clk.now.Add(2 * time.Second)
		l.RateLimited(0)
	}
	if got := perMinute(); got < 23.9 || got > 24.1 {
		t.Errorf("floor: %.1f/min, want a tenth of the configured rate", got)
	}
}
