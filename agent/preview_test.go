package agent

import (
	"context"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"github.com/rs/zerolog"

	"github.com/dirbridge/dirbridge/connectors"
	"github.com/dirbridge/dirbridge/demo"
	"github.com/dirbridge/dirbridge/outbox"
)

func TestPreviewShowsWhatWouldBeRequestedAndSendsNothing(t *testing.T) {
	w := startWorld(t)
	w.waitFor("the initial Creates", func(tx *outbox.Tx) bool { return tx.Counts("salesforce")[outbox.StateCompleted] == 19 })
	cfg := w.a.cfg
	w.stop()
	alice := demo.People()[0]
	w.edit(func(e []*ldap.Entry) []*ldap.Entry { return setAttr(e, alice.Login, "userAccountControl", "514") })

	a, err := New(Options{Config: cfg, Logger: zerolog.Nop(), NoConnectors: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	before := countRequests(t, a)
	p, err := a.Preview(context.Background(), alice.Login)
	if err != nil {
		t.Fatal(err)
	}
	if p.Source != "live directory" || p.Identity.Active || !p.InScope {
		t.Fatalf("preview read %q, identity %+v; want the live (disabled) entry", p.Source, p.Identity)
	}
	for _, app := range []string{"slack", "salesforce"} {
		ap := p.Apps[app]
		if !ap.Assigned || len(ap.Requests) != 1 || ap.Requests[0].Op != connectors.OpDeactivate {
			t.Errorf("%s: %+v, want one Deactivate", app, ap)
		}
	}
	if after := countRequests(t, a); after != before {
		t.Errorf("preview queued %d requests", after-before)
	}
	if _, err := a.Preview(context.Background(), "nobody-like-this"); err == nil {
		t.Error("preview of an unknown person should fail")
	}
}

func countRequests(t *testing.T, a *Agent) int {
	n := 0
	_ = a.store.View(func(tx *outbox.Tx) error {
		for _, app := range []string{"slack", "salesforce"} {
			for _, c := range tx.Counts(app) {
				n += c
			}
		}
		return nil
	})
	return n
}
