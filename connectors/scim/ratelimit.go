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
type limiter struct {
	bucket *rate.Limiter
	now    func() time.Time
	sleep  func(ctx context.Context, d time.Duration) error

	mu          sync.Mutex
	pausedUntil time.Time
}

func newLimiter(cfg RateLimitConfig) *limiter {
	l := &limiter{bucket: rate.NewLimiter(rate.Inf, 1), now: time.Now, sleep: sleepCtx}
	if cfg.RequestsPerMinute > 0 {
		burst := cfg.Burst
		if burst == 0 {
			// A burst of 1 spaces requests evenly, which a provider counting
			// per minute or per second accepts alike.
			burst = 1
		}
		l.bucket = rate.NewLimiter(rate.Limit(cfg.RequestsPerMinute/60), burst)
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
