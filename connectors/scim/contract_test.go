package scim

import (
	"fmt"
	"testing"

	"github.com/dirbridge/dirbridge/connectors"
	"github.com/dirbridge/dirbridge/connectors/connectortest"
)

// The contract suite against the real SCIM server, in every dialect. The
// slack profile deactivates with DELETE, which this server (unlike Slack)
// carries out as a delete, so there it runs as a delete-on-deactivate app.
func TestContractRealServer(t *testing.T) {
	for _, profile := range []string{"generic", "okta", "entra", "slack"} {
		t.Run(profile, func(t *testing.T) {
			connectortest.Run(t, connectortest.Harness{
				New: func(t *testing.T) connectors.Connector {
					return newRealServer(t).connector(Config{Profile: profile})
				},
				User:              contractUser,
				Rename:            contractRename,
				DeactivateDeletes: profile == "slack",
			})
		})
	}
}

func contractUser(i int) connectors.User {
	name := fmt.Sprintf("person%d@corp.example", i)
	return connectors.User{Anchor: fmt.Sprintf("guid-%04d", i), UserName: name, Active: true,
		Attributes: map[string]any{"name.givenName": fmt.Sprintf("Given%d", i), "name.familyName": "Contract",
			`emails[type eq "work"].value`: name}}
}

func contractRename(u connectors.User) connectors.User {
	attrs := make(map[string]any, len(u.Attributes))
	for k, v := range u.Attributes {
		attrs[k] = v
	}
	attrs["name.givenName"] = fmt.Sprint(attrs["name.givenName"], "-renamed")
	u.Attributes = attrs
	return u
}
