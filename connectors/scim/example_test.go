package scim_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/dirbridge/dirbridge/config"
	"github.com/dirbridge/dirbridge/connectors"
	"github.com/dirbridge/dirbridge/connectors/scim"
	"github.com/rs/zerolog"
)

// A Create: the connector looks the person up by anchor and userName
// first (an app that already has users gets linked, not duplicated), then
// posts the user. The server here is a stand-in that knows nobody.
func ExampleConnector_Apply() {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/scim+json")
		fmt.Println(strings.TrimSpace(r.Method + " " + strings.ReplaceAll(r.URL.Query().Get("filter"), `"`, "'")))
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusCreated)
			fmt.Fprint(w, `{"id":"u-1","userName":"alice@corp.example","externalId":"guid-alice","active":true}`)
			return
		}
		fmt.Fprint(w, `{"totalResults":0,"Resources":[]}`)
	}))
	defer app.Close()

	c, err := scim.New(scim.Config{BaseURL: app.URL + "/scim/v2",
		Auth: scim.AuthConfig{BearerToken: config.NewSecret("example-token")}}, zerolog.Nop())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	acct, err := c.Apply(context.Background(), connectors.Request{Op: connectors.OpCreate,
		Desired: connectors.User{Anchor: "guid-alice", UserName: "alice@corp.example", Active: true,
			Attributes: map[string]any{"name.givenName": "Alice"}}})
	fmt.Println(acct.ExternalID, acct.Status, err)
	// Output:
	// GET externalId eq 'guid-alice'
	// GET userName eq 'alice@corp.example'
	// POST
	// u-1 Active <nil>
}
