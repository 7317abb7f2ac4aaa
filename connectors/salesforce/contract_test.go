package salesforce

import (
	"fmt"
	"testing"

	"github.com/dirbridge/dirbridge/connectors"
	"github.com/dirbridge/dirbridge/connectors/connectortest"
)

func TestContract(t *testing.T) {
	connectortest.Run(t, connectortest.Harness{
		New: func(t *testing.T) connectors.Connector { return newFakeOrg(t).connector(t) },
		User: func(i int) connectors.User {
			u := person(fmt.Sprintf("guid-%d", i), fmt.Sprintf("user%d@acme.example", i))
			u.PermissionSets = []string{"Sales_Cloud_User"}
			return u
		},
		Rename: func(u connectors.User) connectors.User {
			attrs := map[string]any{}
			for k, v := range u.Attributes {
				attrs[k] = v
			}
			attrs["LastName"] = "Renamed"
			u.Attributes = attrs
			return u
		},
	})
}
