package agent

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/dirbridge/dirbridge/connectors"
	_ "github.com/dirbridge/dirbridge/connectors/scim"
	"github.com/dirbridge/dirbridge/demo"
	"github.com/dirbridge/dirbridge/internal/testenv"
	"github.com/dirbridge/dirbridge/outbox"
)

// privateSCIMServer starts a second instance of the project's real SCIM
// test server (Better Auth's SCIM plugin) on its own port, so this test
// never races the connector tests that reset the shared one.
func privateSCIMServer(t *testing.T) (baseURL, token string) {
	testenv.Require(t, "SCIM server", "DIRBRIDGE_SCIM_URL") // the shared one proves npm packages are installed
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "scripts", "testenv", "scim-server.sh")
	const port, tok = "8891", "agent-e2e-token-0123456789"
	cmd := exec.Command("bash", script, "start", port, tok)
	cmd.Env = append(os.Environ(), "SCIM_WRITE_ENV=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("starting a private SCIM server: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("bash", script, "stop", port).Run() })
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1], tok
}

type scimUser struct {
	ID         string `json:"id"`
	UserName   string `json:"userName"`
	ExternalID string `json:"externalId"`
	Active     bool   `json:"active"`
}

func scimUsers(t *testing.T, base, token string) []scimUser {
	var all []scimUser
	for start := 1; ; start += 100 {
		req, _ := http.NewRequest("GET", fmt.Sprintf("%s/Users?startIndex=%d&count=100", base, start), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			TotalResults int        `json:"totalResults"`
			Resources    []scimUser `json:"Resources"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Resources...)
		if len(page.Resources) == 0 || len(all) >= page.TotalResults {
			return all
		}
	}
}

func TestEndToEndWithARealSCIMServer(t *testing.T) {
	base, token := privateSCIMServer(t)
	w := startWorldWith(t, func(cfg string) string {
		return strings.Replace(cfg, "  slack:\n    connector: mock\n", fmt.Sprintf(
			"  slack:\n    connector: scim\n    settings:\n      baseURL: %q\n      auth: {bearerToken: %q}\n", base, token), 1)
	})
	w.waitFor("the initial Creates in the SCIM server", func(tx *outbox.Tx) bool {
		c := tx.Counts("slack")
		return c[outbox.StateCompleted] == 33
	})
	users := scimUsers(t, base, token)
	if len(users) != 33 {
		t.Fatalf("the SCIM server holds %d users, want 33", len(users))
	}
	alice := demo.People()[0]
	id := personID(t, w.a, alice.Login)
	var found *scimUser
	for i := range users {
		if users[i].UserName == alice.Login+"@corp.example" {
			found = &users[i]
		}
	}
	if found == nil || found.ExternalID != id || !found.Active {
		t.Fatalf("alice in the SCIM server: %+v, want externalId %s and active", found, id)
	}
	w.edit(func(e []*ldap.Entry) []*ldap.Entry { return setAttr(e, alice.Login, "userAccountControl", "514") })
	w.waitFor("the Deactivate", func(tx *outbox.Tx) bool { return completed(tx, "slack", id, connectors.OpDeactivate) })
	for _, u := range scimUsers(t, base, token) {
		if u.ExternalID == id && u.Active {
			t.Fatal("the SCIM server still has alice active after the Deactivate completed")
		}
	}
}
