package agent

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/dirbridge/dirbridge/config"
	"github.com/dirbridge/dirbridge/connectors"
	"github.com/dirbridge/dirbridge/connectors/scim"
	"github.com/dirbridge/dirbridge/outbox"
)

// BenchmarkDeliverSCIMWithOutbox measures delivery the way the agent does
// it: requests handed out by the outbox, carried out by the SCIM connector
// against a loopback SCIM server (one PATCH per Update) by 8 workers, and
// each outcome committed back to the outbox (fsync on). Reports requests/s.
func BenchmarkDeliverSCIMWithOutbox(b *testing.B) {
	body := []byte(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1","userName":"p@corp.example",` +
		`"externalId":"anchor","active":true,"title":"t"}`)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/scim+json")
		_, _ = w.Write(body)
	}))
	defer ts.Close()
	store, err := outbox.Open(filepath.Join(b.TempDir(), "state.db"), outbox.Options{NoSync: os.Getenv("NOSYNC") == "1"})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	seedUpdates(b, store, b.N)
	conn, err := scim.New(scim.Config{BaseURL: ts.URL, Patch: "always", Auth: scim.AuthConfig{BearerToken: config.NewSecret("bench")}}, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	a := &Agent{store: store, log: zerolog.Nop(), now: time.Now, status: newStatusBoard()}
	r := newAppRunner(a, "app", config.App{Connector: "scim", Workers: 8, MaxAttempts: 3}, conn)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.ResetTimer()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- r.run(ctx) }()
	for completedUpdates(store) < b.N {
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	<-done
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "requests/s")
}

func completedUpdates(s *outbox.Store) int {
	n := 0
	_ = s.View(func(tx *outbox.Tx) error { n = tx.Counts("app")[outbox.StateCompleted]; return nil })
	return n - benchSeeded
}

// benchSeeded counts the Creates seedUpdates completed to link the people.
var benchSeeded int

// seedUpdates links n people (a completed Create each) and queues an
// Update for each, so the measured work is n Updates.
func seedUpdates(b *testing.B, s *outbox.Store, n int) {
	for i := 0; i < n; i += 1000 {
		err := s.UpdateOne(func(tx *outbox.Tx) error {
			for j := i; j < min(i+1000, n); j++ {
				if err := seedOne(tx, j); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	benchSeeded = n
}

func seedOne(tx *outbox.Tx, j int) error {
	person := fmt.Sprintf("p%d", j)
	u := &connectors.User{Anchor: person, UserName: person + "@corp.example", Active: true, Attributes: map[string]any{"title": "old"}}
	if _, err := tx.Enqueue(outbox.NewRequest{App: "app", PersonID: person, Op: connectors.OpCreate, Target: u}); err != nil {
		return err
	}
	w, err := tx.Claim("app", 1, time.Now(), nil)
	if err != nil || len(w) != 1 {
		return fmt.Errorf("seed claim: %v %d", err, len(w))
	}
	if err := tx.Complete(w[0].Request.ID, connectors.Account{ExternalID: "ext-" + person, Status: connectors.StatusActive}); err != nil {
		return err
	}
	nu := *u
	nu.Attributes = map[string]any{"title": "new"}
	if err := tx.SetDesired("app", person, &nu); err != nil {
		return err
	}
	_, err = tx.Enqueue(outbox.NewRequest{App: "app", PersonID: person, Op: connectors.OpUpdate, Target: &nu})
	return err
}
