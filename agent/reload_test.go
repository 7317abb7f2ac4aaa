package agent

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dirbridge/dirbridge/connectors"
	"github.com/dirbridge/dirbridge/demo"
	"github.com/dirbridge/dirbridge/outbox"
)

// waitMapping waits for the agent's own file watch to pick up a change.
func (w *world) waitMapping(t *testing.T, cond func(MappingStatus) bool) MappingStatus {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if st := w.a.maps.Status(); cond(st) {
			return st
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the mapping watch did not react: %+v", w.a.maps.Status())
	return MappingStatus{}
}

func TestMappingReload(t *testing.T) {
	w := startWorld(t)
	w.waitFor("the initial Creates", func(tx *outbox.Tx) bool { return tx.Counts("slack")[outbox.StateCompleted] == 33 })
	path := filepath.Join(w.dir, demo.MappingFile)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("a broken file is rejected and the last good mapping keeps running", func(t *testing.T) {
		broken := strings.Replace(string(good), "title: title", "title: upper(title", 1)
		if err := os.WriteFile(path, []byte(broken), 0o600); err != nil {
			t.Fatal(err)
		}
		st := w.waitMapping(t, func(st MappingStatus) bool { return st.Error != "" })
		if !strings.Contains(st.Error, "mapping.yaml:") || w.a.maps.planner() == nil {
			t.Fatalf("status error %q; the last good mapping must stay active", st.Error)
		}
		s, _ := w.a.Status(context.Background())
		if s.Healthy {
			t.Error("status says healthy while the mapping file is broken")
		}
	})

	t.Run("a valid change is applied and its diff shown", func(t *testing.T) {
		// Slack now goes to the Sales group instead of Slack Users.
		changed := strings.Replace(string(good), "CN=Slack Users,OU=Groups", "CN=Sales,OU=Groups", 1)
		if err := os.WriteFile(path, []byte(changed), 0o600); err != nil {
			t.Fatal(err)
		}
		st := w.waitMapping(t, func(st MappingStatus) bool { return st.Error == "" && st.LastDiff["slack Deactivate"] > 0 })
		if st.Error != "" || st.LastDiff["slack Deactivate"] == 0 || st.LastDiff["slack Create"] == 0 {
			t.Fatalf("status after reload: %+v", st)
		}
		// Sales members outside Slack Users get Slack; Slack Users outside Sales lose it.
		want := 0
		for i, p := range demo.People() {
			inSlack, inSales := i%3 != 2, p.Department == "Sales"
			if inSlack && !inSales && !p.Disabled {
				want++
			}
		}
		if got := st.LastDiff["slack Deactivate"]; got != want {
			t.Errorf("planned %d Slack deactivations, want %d", got, want)
		}
		w.t = t
		w.waitFor("the diff to be delivered", func(tx *outbox.Tx) bool {
			c := tx.Counts("slack")
			return c[outbox.StateNew]+c[outbox.StateRetrying]+c[outbox.StateProvisioning] == 0
		})
		_ = w.a.store.View(func(tx *outbox.Tx) error {
			reqs, _ := tx.ListRequests(outbox.Filter{App: "slack", Ops: []connectors.Operation{connectors.OpDeactivate}, Limit: 1})
			if len(reqs) != 1 || !strings.HasPrefix(reqs[0].Reason, "mapping change") {
				t.Errorf("latest Slack deactivation: %+v", reqs)
			}
			return nil
		})
	})
}
