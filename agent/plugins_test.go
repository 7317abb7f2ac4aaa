package agent

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/dirbridge/dirbridge/connectors"
	"github.com/dirbridge/dirbridge/connectors/mock"
	"github.com/dirbridge/dirbridge/outbox"
)

// panicky is a connector with a bug: it panics on every request.
type panicky struct{}

func (panicky) Apply(context.Context, connectors.Request) (connectors.Account, error) {
	panic("index out of range in a connector")
}
func (panicky) Close() error { return nil }

func init() {
	connectors.Register("test-panicky", func(connectors.Env) (connectors.Connector, error) { return panicky{}, nil })
}

func TestAPanickingConnectorFailsAttemptsNotTheAgent(t *testing.T) {
	w := startWorldWith(t, func(cfg string) string {
		return strings.Replace(cfg, "  slack:\n    connector: mock\n", "  slack:\n    connector: test-panicky\n", 1)
	})
	w.waitFor("salesforce delivered and slack attempts failed", func(tx *outbox.Tx) bool {
		return tx.Counts("salesforce")[outbox.StateCompleted] == 19 && tx.Counts("slack")[outbox.StateRetrying] > 0
	})
	_ = w.a.store.View(func(tx *outbox.Tx) error {
		reqs, _ := tx.ListRequests(outbox.Filter{App: "slack", States: []outbox.State{outbox.StateRetrying}, Limit: 1})
		if len(reqs) != 1 || !strings.Contains(reqs[0].LastError, "panic") {
			t.Errorf("retrying slack request: %+v", reqs)
		}
		return nil
	})
}

// batching wraps the mock target as a connector that takes many requests
// per call (like Salesforce sObject Collections) and records batch sizes.
type batching struct {
	connectors.Connector
	mu      sync.Mutex
	largest int
}

func (b *batching) ApplyBatch(ctx context.Context, reqs []connectors.Request) []connectors.Result {
	b.mu.Lock()
	b.largest = max(b.largest, len(reqs))
	b.mu.Unlock()
	out := make([]connectors.Result, len(reqs))
	for i, r := range reqs {
		out[i].Account, out[i].Err = b.Apply(ctx, r)
	}
	return out
}

var lastBatching *batching

func init() {
	connectors.Register("test-batching", func(env connectors.Env) (connectors.Connector, error) {
		m, err := mock.Open(mock.Settings{File: filepath.Join(env.StateDir, "batching.db")})
		lastBatching = &batching{Connector: m}
		return lastBatching, err
	})
}

func TestBatchingConnectorGetsManyRequestsPerCall(t *testing.T) {
	w := startWorldWith(t, func(cfg string) string {
		return strings.Replace(cfg, "  salesforce:\n    connector: mock\n", "  salesforce:\n    connector: test-batching\n", 1)
	})
	w.waitFor("the salesforce Creates", func(tx *outbox.Tx) bool { return tx.Counts("salesforce")[outbox.StateCompleted] == 19 })
	lastBatching.mu.Lock()
	defer lastBatching.mu.Unlock()
	if lastBatching.largest < 2 {
		t.Fatalf("largest batch %d: the dispatcher never batched", lastBatching.largest)
	}
}
