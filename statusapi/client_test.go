package statusapi_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/rs/zerolog"

	"github.com/dirbridge/dirbridge/demo"
	"github.com/dirbridge/dirbridge/outbox"
	"github.com/dirbridge/dirbridge/statusapi"
	"github.com/dirbridge/dirbridge/statusapi/client"
)

// TestClientRoundTrip drives every client call against the server and checks
// it answers what the agent answers directly.
func TestClientRoundTrip(t *testing.T) {
	w := startWorld(t, nil)
	srv := httptest.NewServer(statusapi.NewServer(w.a, w.cfg, zerolog.Nop()).Handler())
	defer srv.Close()
	ctx := context.Background()
	c := client.New(srv.URL, srv.Client(), func() (string, error) { return w.token(t), nil })
	if err := c.Health(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := c.Status(ctx)
	if err != nil || st.Apps["slack"].Requests[outbox.StateCompleted] != 33 {
		t.Fatalf("status: %v %+v", err, st.Apps["slack"])
	}
	reqs, err := c.Requests(ctx, outbox.Filter{App: "slack", States: []outbox.State{outbox.StateCompleted}, Limit: 5})
	if err != nil || len(reqs) != 5 {
		t.Fatalf("requests: %v, %d", err, len(reqs))
	}
	d, err := c.Request(ctx, reqs[0].ID)
	if err != nil || d.Request.ID != reqs[0].ID || len(d.Log) == 0 {
		t.Fatalf("request: %v %+v", err, d)
	}
	login := demo.People()[0].Login
	p, err := c.Person(ctx, login)
	want, _ := w.a.Person(ctx, login)
	if err != nil || p.Person.ID != want.Person.ID || len(p.Requests) != len(want.Requests) {
		t.Fatalf("person: %v %+v", err, p.Person)
	}
	accts, err := c.Accounts(ctx, "slack")
	direct, _ := w.a.Accounts(ctx, "slack")
	if err != nil || len(accts) < 33 || len(accts) != len(direct) {
		t.Fatalf("accounts: %v, %d over the API, %d direct", err, len(accts), len(direct))
	}
	if _, err := c.Person(ctx, "nobody-at-all"); !errors.Is(err, outbox.ErrNotFound) {
		t.Errorf("an unknown person: %v, want outbox.ErrNotFound", err)
	}
	if _, err := c.Act(ctx, reqs[0].ID, "retry", "test"); !errors.Is(err, outbox.ErrIllegalTransition) {
		t.Errorf("retrying a completed request: %v, want outbox.ErrIllegalTransition", err)
	}
	w.hold(t, "slack", "held-1")
	w.hold(t, "slack", "held-2")
	n, err := c.DecideHeld(ctx, "slack", false, "test")
	if err != nil || n != 2 {
		t.Fatalf("deny held: %v, %d", err, n)
	}
	if err := c.StartFullRead(ctx, false, "test"); err != nil {
		t.Fatal(err)
	}
	var apiErr *client.Error
	bad := client.New(srv.URL, srv.Client(), func() (string, error) { return "not-the-token-at-all", nil })
	if _, err := bad.Act(ctx, reqs[0].ID, "retry", "x"); !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized {
		t.Errorf("a wrong token: %v, want 401", err)
	}
}
