package scim

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dirbridge/dirbridge/config"
	"github.com/dirbridge/dirbridge/connectors"
	"github.com/rs/zerolog"
)

type agentApps struct {
	Apps map[string]config.App `yaml:"apps"`
}

// The shipped example decodes through the agent's strict decoder and
// builds a connector with exactly what it says.
func TestExampleSettingsDecodeAndBuildAConnector(t *testing.T) {
	raw, err := os.ReadFile("../../examples/app-scim.yaml")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SLACK_SCIM_TOKEN", "xoxp-example-token")
	var a agentApps
	if err := config.DecodeYAML("app-scim.yaml", raw, &a); err != nil {
		t.Fatal(err)
	}
	app := a.Apps["slack"]
	conn, err := connectors.New(app.Connector, connectors.Env{App: "slack", Logger: zerolog.Nop(), Decode: app.Settings.Decode})
	if err != nil {
		t.Fatal(err)
	}
	c := conn.(*Connector)
	s := c.s
	if s.base.String() != "https://api.slack.com/scim/v2" || s.profile.Name != "slack" ||
		s.profile.Deactivate != DeactivateDelete || s.timeout != 30*time.Second || s.rateLimit.RequestsPerMinute != 180 ||
		s.pageSize != 100 || !s.createGroups || s.profile.MemberChunk != 100 || s.patch != "auto" {
		t.Fatalf("settings = %+v", s)
	}
	if s.auth.BearerToken.Reveal() != "xoxp-example-token" || strings.Contains(s.auth.BearerToken.String(), "xoxp") {
		t.Fatal("the token is wrong or shows in String()")
	}
}

func TestUnknownSettingIsReportedWithItsLine(t *testing.T) {
	text := "apps:\n  s:\n    connector: scim\n    settings:\n      baseUrl: https://x.example/scim\n"
	var a agentApps
	if err := config.DecodeYAML("agent.yaml", []byte(text), &a); err != nil {
		t.Fatal(err)
	}
	_, err := connectors.New("scim", connectors.Env{App: "s", Logger: zerolog.Nop(), Decode: a.Apps["s"].Settings.Decode})
	if err == nil || !strings.Contains(err.Error(), `agent.yaml:5:7: unknown key "baseUrl"`) {
		t.Fatalf("err = %v", err)
	}
}

// Every problem is reported at once.
func TestValidateReportsEverything(t *testing.T) {
	cfg := Config{BaseURL: "ftp://x", Profile: "myspace", Timeout: "soon", Patch: "maybe", Deactivate: "shred",
		PageSize: -1, Auth: AuthConfig{OAuth2: &OAuth2Config{}}}
	_, err := New(cfg, zerolog.Nop())
	for _, want := range []string{"baseURL", "profile", "timeout", "patch", "deactivate", "pageSize", "tokenURL", "clientID"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	_, err = New(Config{BaseURL: "https://x.example/scim", Auth: AuthConfig{BearerToken: secret("t"),
		OAuth2: &OAuth2Config{TokenURL: "https://x", ClientID: "a", ClientSecret: secret("b")}}}, zerolog.Nop())
	if err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("two credentials: %v", err)
	}
	if _, err := New(Config{BaseURL: "https://x.example/scim"}, zerolog.Nop()); err == nil {
		t.Error("no credential accepted")
	}
}
