package agent

import (
	"context"
	"strings"
	"testing"

	"github.com/dirbridge/dirbridge/connectors"
	"github.com/dirbridge/dirbridge/outbox"
)

func TestReconcileFindsOrphansAndLinks(t *testing.T) {
	w := startWorld(t)
	w.waitFor("the initial Creates", func(tx *outbox.Tx) bool { return tx.Counts("slack")[outbox.StateCompleted] == 33 })
	// Someone created an account by hand that nobody in the directory owns.
	_, err := w.a.apps["slack"].conn.Apply(context.Background(), connectors.Request{Op: connectors.OpCreate,
		Desired: connectors.User{Anchor: "guid-of-a-leaver", UserName: "leaver@corp.example", Active: true}})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := w.a.Reconcile(context.Background(), "slack")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Counts["linked"] != 33 || rep.Counts["orphaned"] != 1 || rep.Counts["missing"] != 0 || rep.Counts["problems"] != 1 {
		t.Fatalf("counts %v", rep.Counts)
	}
	for _, r := range rep.Accounts {
		if r.Match == MatchOrphaned && (r.UserName != "leaver@corp.example" || !strings.Contains(r.Problem, "nobody in the directory")) {
			t.Errorf("orphan row: %+v", r)
		}
		if r.Match == MatchLinked && r.PersonDN == "" {
			t.Errorf("linked row without the person's DN: %+v", r)
		}
	}
	if _, err := w.a.Reconcile(context.Background(), "nope"); err == nil {
		t.Error("an unknown app should be an error")
	}
}
