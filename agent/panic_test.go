package agent

import (
	"context"
	"strings"
	"testing"

	"github.com/dirbridge/dirbridge/connectors"
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
