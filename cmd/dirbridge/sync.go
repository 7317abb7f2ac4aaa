package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/dirbridge/dirbridge/agent"
	"github.com/dirbridge/dirbridge/statusapi/client"
)

func syncCmd(g *globals) *cobra.Command {
	var full, acceptShrink bool
	cmd := &cobra.Command{
		Use:   "sync --full [--accept-shrink]",
		Short: "Run a full read of the directory now",
		Long: "Ask the running agent for a full read now (or, when it is stopped, run one here; the\n" +
			"requests it plans are delivered when the agent next runs). A full read that sees no\n" +
			"people, or less than half of the last one, never deactivates anybody; when such a\n" +
			"shrink is expected (a reorganisation, a new base DN), confirm it with --accept-shrink.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !full {
				return usageError{errors.New("say --full: changes are followed continuously; only a full read can be asked for")}
			}
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			log, err := newLogger(cfg.Log, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			b, err := g.backend(cmd.Context(), agent.Options{Logger: log.Level(zerolog.InfoLevel), NoConnectors: true})
			if err != nil {
				return err
			}
			defer b.Close()
			a, stopped := b.(*agent.Agent)
			if !stopped {
				if err := b.(*client.Client).StartFullRead(cmd.Context(), acceptShrink, actingUser("")); err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), "full read requested from the running agent; follow it on its status page")
				return nil
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			if err := a.FullRead(ctx, acceptShrink); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "full read done; its requests are delivered when the agent runs")
			return nil
		},
	}
	cmd.Flags().BoolVar(&full, "full", false, "read the whole directory")
	cmd.Flags().BoolVar(&acceptShrink, "accept-shrink", false, "treat people missing from a much smaller read as deleted")
	return cmd
}
