package salesforce

import (
	"os"
	"path/filepath"
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

// exampleApp loads examples/app-salesforce.yaml with its key reference
// pointed at a real key file, through the agent's strict decoder.
func exampleApp(t *testing.T) config.App {
	t.Helper()
	raw, err := os.ReadFile("../../examples/app-salesforce.yaml")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "salesforce-jwt.key")
	if err := os.WriteFile(keyFile, []byte(keyPEM(rsaKey(t))), 0o600); err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(raw), "/etc/dirbridge/salesforce-jwt.key", keyFile, 1)
	var a agentApps
	if err := config.DecodeYAML("app-salesforce.yaml", []byte(text), &a); err != nil {
		t.Fatal(err)
	}
	return a.Apps["salesforce"]
}

func TestExampleSettingsDecodeAndBuildAConnector(t *testing.T) {
	app := exampleApp(t)
	conn, err := connectors.New(app.Connector, connectors.Env{App: "salesforce", Logger: zerolog.Nop(), Decode: app.Settings.Decode})
	if err != nil {
		t.Fatal(err)
	}
	c := conn.(*Connector)
	if c.cfg.InstanceURL != "https://acme.my.salesforce.com" || c.cfg.BudgetWait != 15*time.Minute ||
		c.cfg.Defaults["LocaleSidKey"] != "fr_FR" || c.cfg.Auth.PrivateKey.IsZero() {
		t.Fatalf("config = %+v", c.cfg)
	}
	if strings.Contains(c.cfg.Auth.PrivateKey.String(), "PRIVATE KEY") {
		t.Fatal("the key shows in String()")
	}
}

func TestUnknownSettingIsReportedWithItsLine(t *testing.T) {
	text := "apps:\n  sf:\n    connector: salesforce\n    settings:\n      loginUrl: https://login.salesforce.com\n"
	var a agentApps
	if err := config.DecodeYAML("agent.yaml", []byte(text), &a); err != nil {
		t.Fatal(err)
	}
	_, err := connectors.New("salesforce", connectors.Env{App: "sf", Logger: zerolog.Nop(), Decode: a.Apps["sf"].Settings.Decode})
	if err == nil || !strings.Contains(err.Error(), `agent.yaml:5:7: unknown key "loginUrl"`) {
		t.Fatalf("err = %v", err)
	}
}
