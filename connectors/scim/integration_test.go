package scim

import (
	"testing"

	"github.com/dirbridge/dirbridge/connectors"
)

func TestIntegrationCreateReadBack(t *testing.T) {
	srv := newRealServer(t)
	c := srv.connector(Config{})
	u := alice()
	u.Groups = []string{"Engineering"}
	acct := mustApply(t, c, connectors.Request{Op: connectors.OpCreate, Desired: u})
	if acct.ExternalID == "" || acct.Status != connectors.StatusActive || acct.Anchor != u.Anchor {
		t.Fatalf("account = %+v", acct)
	}
	r := srv.user(acct.ExternalID)
	wantAttrs(t, r, u)
	if !r.active() {
		t.Error("provider has the user inactive")
	}
	members, err := c.GroupMembers(testCtx(t), "Engineering")
	if err != nil || len(members) != 1 || members[0] != acct.ExternalID {
		t.Errorf("Engineering members = %v, %v; want [%s]", members, err, acct.ExternalID)
	}
}
