// Command dirbridge is the directory sync agent: it keeps accounts in SaaS
// apps in step with Active Directory or LDAP. This file only parses flags
// and wires packages together; the engine lives in package agent.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/dirbridge/dirbridge/agent"
	"github.com/dirbridge/dirbridge/config"

	// Connectors and directory sources shipped in this binary.
	_ "github.com/dirbridge/dirbridge/connectors/mock"
	_ "github.com/dirbridge/dirbridge/connectors/salesforce"
	_ "github.com/dirbridge/dirbridge/connectors/scim"
	_ "github.com/dirbridge/dirbridge/directory/ldap"
	_ "github.com/dirbridge/dirbridge/directory/ldif"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // the command ran and failed
	exitUsage   = 2 // bad flags, bad config or mapping file
)

// usageError marks errors that deserve exit code 2.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

type globals struct {
	configPath string
	output     string
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	g := &globals{}
	root := &cobra.Command{
		Use:           "dirbridge",
		Short:         "Keep SaaS accounts in step with Active Directory or LDAP",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       agent.Version,
	}
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	def := os.Getenv("DIRBRIDGE_CONFIG")
	if def == "" {
		def = "/etc/dirbridge/agent.yaml"
	}
	root.PersistentFlags().StringVarP(&g.configPath, "config", "c", def, "agent config file ($DIRBRIDGE_CONFIG)")
	root.PersistentFlags().StringVarP(&g.output, "output", "o", "table", "output format: table or json (accounts also: csv)")
	root.AddCommand(runCmd(g), demoCmd(g), requestsCmd(g), batchesCmd(g), accountsCmd(g), personCmd(g), previewCmd(g), syncCmd(g), reconcileCmd(g), checkCmd(g), mappingCmd(g), serviceCmd(g), versionCmd())
	err := root.ExecuteContext(context.Background())
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "dirbridge:", err)
	var ue usageError
	var ce config.Errors
	if errors.As(err, &ue) || errors.As(err, &ce) || isFlagError(err) {
		return exitUsage
	}
	return exitFailure
}

func isFlagError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown flag", "unknown command", "unknown shorthand", "accepts ", "requires at least", "invalid argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

func versionCmd() *cobra.Command {
	return &cobra.Command{Use: "version", Short: "Print the version", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), "dirbridge", agent.Version)
			return nil
		}}
}

func (g *globals) loadConfig() (*config.Config, error) {
	c, err := config.Load(g.configPath)
	if err != nil {
		return nil, usageError{err}
	}
	return c, nil
}

// newLogger builds the agent's logger: JSON by default, console for a
// terminal.
func newLogger(c config.Log, w io.Writer) (zerolog.Logger, error) {
	level, err := zerolog.ParseLevel(c.Level)
	if err != nil {
		return zerolog.Nop(), usageError{fmt.Errorf("log.level %q: %w", c.Level, err)}
	}
	if c.Format == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05"}
	}
	return zerolog.New(w).Level(level).With().Timestamp().Str("component", "agent").Logger(), nil
}
