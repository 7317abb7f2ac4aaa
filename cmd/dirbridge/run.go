package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/kardianos/service"
	"github.com/spf13/cobra"

	"github.com/dirbridge/dirbridge/agent"
)

func runCmd(g *globals) *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the agent in the foreground",
		Long: "Run the agent in the foreground until interrupted: follow the directory, plan requests\n" +
			"from the mapping, deliver them to the apps, serve the status endpoint.\n" +
			"With --dry-run every app is replaced by the mock target, so nothing reaches a real app\n" +
			"and every request that would have been sent is recorded.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			log, err := newLogger(cfg.Log, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			agent.TuneRuntime()
			a, err := agent.New(agent.Options{Config: cfg, Logger: log, DryRun: dryRun})
			if err != nil {
				return err
			}
			defer a.Close()
			if !service.Interactive() { // started by the Windows service manager
				sc, err := serviceConfig(g.configPath, "")
				if err != nil {
					return err
				}
				svc, err := service.New(&program{run: func(ctx context.Context) error { return runAgent(ctx, a, cfg, log) }}, sc)
				if err != nil {
					return err
				}
				return svc.Run()
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runAgent(ctx, a, cfg, log)
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "send nothing to real apps; record what would be sent in mock targets")
	return cmd
}
