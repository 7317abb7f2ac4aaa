package scim

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter is the app's token bucket (golang.org/x/time/rate), slowed by the
// app itself: a 429 or a 503 with Retry-After pauses every worker of the
// app until that time, so one worker's 429 is not repeated by the others.
// A 429 also lowers the bucket's rate (by slowDownFactor, at most once per
// slowDownEvery, never below a tenth of the configured rate), and quiet
// time raises it back towards the configured rate: a rate configured above
// what the provider really allows settles near the real limit instead of
// collecting a 429 every few seconds.
type limiter struct {
	bucket     *rate.Limiter
	configured rate.Limit // rate.Inf when not configured
	now        func() time.Time
	sleep      func(ctx context.Context, d time.Duration) error

	mu          sync.Mutex
	pausedUntil time.Time
	lastChange  time.Time // of the bucket's rate
}

const (
	slowDownFactor = 0.8
	slowDownEvery  = time.Second // 429s of requests already in flight count once
	speedUpFactor  = 1.1
	speedUpAfter   = 30 * time.Second // without a 429
)

func newLimiter(cfg RateLimitConfig) *limiter {
	l := &limiter{bucket: rate.NewLimiter(rate.Inf, 1), configured: rate.Inf, now: time.Now, sleep: sleepCtx}
	if cfg.RequestsPerMinute > 0 {
		burst := cfg.Burst
		if burst == 0 {
			// A burst of 1 spaces requests evenly, which a provider counting
			// per minute or per second accepts alike.
			burst = 1
		}
		l.configured = rate.Limit(cfg.RequestsPerMinute / 60)
		l.bucket = rate.NewLimiter(l.configured, burst)
	}
	return l
}

// Wait blocks until the app may take another request.
func (l *limiter) Wait(ctx context.Context) error {
	for {
		d := l.pause()
		if d <= 0 {
			break
		}
		if err := l.sleep(ctx, d); err != nil {
			return err
		}
	}
	if err := l.bucket.Wait(ctx); err != nil {
		if _, ok := ctx.Deadline(); ok && ctx.Err() == nil {
			// rate refuses early when the wait would outlast the deadline;
			// to callers that is the deadline passing.
			return fmt.Errorf("%w (%v)", context.DeadlineExceeded, err)
		}
		return err
	}
	return nil
}

func (l *limiter) pause() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pausedUntil.Sub(l.now())
}

// PauseFor holds every request of the app for d (never shortening a longer
// pause already in force).
func (l *limiter) PauseFor(d time.Duration) {
	if d <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if until := l.now().Add(d); until.After(l.pausedUntil) {
		l.pausedUntil = until
	}
}

// RateLimited records a 429: pause for retryAfter and lower the rate.
func (l *limiter) RateLimited(retryAfter time.Duration) {
	l.PauseFor(retryAfter)
	if l.configured == rate.Inf {
		return // nothing to scale; the pause is all we can do
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.lastChange) < slowDownEvery {
		return
	}
	l.bucket.SetLimit(max(l.bucket.Limit()*slowDownFactor, l.configured/10))
	l.lastChange = now
}

// Succeeded raises a lowered rate after a quiet speedUpAfter.
func (l *limiter) Succeeded() {
	if l.configured == rate.Inf {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if cur := l.bucket.Limit(); cur < l.configured && now.Sub(l.lastChange) >= speedUpAfter {
		l.bucket.SetLimit(min(cur*speedUpFactor, l.configured))
		l.lastChange = now
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
