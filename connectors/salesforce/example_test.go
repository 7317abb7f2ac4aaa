package salesforce_test

import (
	"context"
	"fmt"
	"os"

	"github.com/dirbridge/dirbridge/config"
	"github.com/dirbridge/dirbridge/connectors"
	"github.com/dirbridge/dirbridge/connectors/salesforce"
	"github.com/rs/zerolog"
)

// Example wires a connector by hand (the agent does this from the app's
// settings) and terminates a person: freeze, then deactivate.
func Example() {
	key, err := config.ResolveSecret("${file:/etc/dirbridge/salesforce-jwt.key}")
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := salesforce.New(salesforce.Config{
		LoginURL:    "https://login.salesforce.com",
		InstanceURL: "https://acme.my.salesforce.com",
		APIVersion:  "v62.0",
		Auth: salesforce.AuthConfig{ClientID: "3MVG9...", Username: "dirbridge-integration@acme.example",
			PrivateKey: config.NewSecret(key)},
	}, zerolog.New(os.Stderr))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	acct, err := c.Apply(context.Background(), connectors.Request{
		Op:      connectors.OpDeactivate,
		Desired: connectors.User{Anchor: "5b0c9a8e-0d7f-4f7e-9d0e-3f2a1c4b5d6e", UserName: "ada@acme.example"},
		Account: connectors.Account{ExternalID: "005Hs00000ABCDEIA4"},
	})
	used, max := c.APIUsage()
	fmt.Println(acct.Status, err, used, max)
}
