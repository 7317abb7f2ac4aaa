package salesforce

import (
	"context"
	"testing"

	"github.com/dirbridge/dirbridge/connectors"
)

func TestListAccountsStreamsPagesWithStatus(t *testing.T) {
	org := newFakeOrg(t)
	org.pageSize = 2 // five users span three pages
	active := org.addUser(map[string]any{"Username": "a@acme.example", "FederationIdentifier": "guid-a"})
	inactive := org.addUser(map[string]any{"Username": "b@acme.example", "IsActive": false})
	frozen := org.addUser(map[string]any{"Username": "c@acme.example"})
	org.addUser(map[string]any{"Username": "d@acme.example"})
	org.addUser(map[string]any{"Username": "e@acme.example"})
	org.addUser(map[string]any{"Username": "portal@acme.example", "UserType": "PowerCustomerSuccess"})
	org.login(frozen)["IsFrozen"] = true
	c := org.connector(t)
	got := map[string]connectors.Account{}
	err := c.ListAccounts(context.Background(), func(a connectors.Account) error {
		got[a.ExternalID] = a
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 {
		t.Fatalf("listed %d accounts, want the 5 standard users", len(got))
	}
	if got[active].Status != connectors.StatusActive || got[active].Anchor != "guid-a" ||
		got[inactive].Status != connectors.StatusDeactivated || got[frozen].Status != connectors.StatusFrozen {
		t.Fatalf("accounts = %+v", got)
	}
	if n := countCalls(org.callLog(), "GET query-more"); n != 2 {
		t.Fatalf("%d nextRecordsUrl pages read, want 2", n)
	}
}

func TestProbeReadsLimits(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t)
	if err := c.Probe(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, max := c.APIUsage(); max != org.apiMax {
		t.Fatalf("max = %d after probe", max)
	}
	org.failNext("GET", "/limits", 404, `[{"errorCode":"NOT_FOUND","message":"The requested resource does not exist"}]`, nil)
	if err := c.Probe(context.Background()); err == nil {
		t.Fatal("probe of an org without the API version succeeded")
	}
}

func TestProbeFindsAMissingAnchorField(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t, func(cfg *Config) { cfg.AnchorField = "Employee_Guid__c" })
	err := c.Probe(context.Background())
	wantClass(t, err, connectors.Permanent, "INVALID_FIELD")
}

func TestUnknownMappedFieldIsPermanentForThatPerson(t *testing.T) {
	org := newFakeOrg(t)
	c := org.connector(t)
	p := person("guid-1", "ada@acme.example")
	p.Attributes["Shoe_Size__c"] = "44"
	_, err := c.Apply(context.Background(), createReq(p))
	wantClass(t, err, connectors.Permanent, "INVALID_FIELD")
}
