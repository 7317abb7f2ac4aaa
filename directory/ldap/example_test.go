package ldap_test

import (
	"context"
	"fmt"
	"os"

	"github.com/goccy/go-yaml"
	"github.com/rs/zerolog"

	"github.com/dirbridge/dirbridge/directory"
	_ "github.com/dirbridge/dirbridge/directory/ldap" // registers source type "ldap"
)

// The agent creates the source from the `directory.settings` section and
// streams a full read page by page; the returned cursor is committed with
// the last page.
func Example() {
	settings := `
urls: [ldaps://dc1.corp.example:636, ldaps://dc2.corp.example:636]
tls: {caFile: /etc/dirbridge/corp-ca.pem}
bind: {dn: svc-dirbridge@corp.example, password: "${env:DIRBRIDGE_LDAP_PASSWORD}"}
people: {base: "OU=Staff,DC=corp,DC=example"}
`
	src, err := directory.New("ldap", directory.Env{
		Logger:     zerolog.New(os.Stderr),
		Decode:     func(v any) error { return yaml.UnmarshalWithOptions([]byte(settings), v, yaml.Strict()) },
		Attributes: []string{"sAMAccountName", "mail", "userAccountControl"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer src.Close()
	cursor, err := src.FullRead(context.Background(), func(ctx context.Context, p directory.Page) error {
		for _, e := range p.Entries {
			fmt.Println(e.Kind, e.ID, e.DN, e.Attr("mail"), len(e.Members), e.PrimaryGroup)
		}
		return nil // commit the page here
	})
	fmt.Println(len(cursor), err)
}
