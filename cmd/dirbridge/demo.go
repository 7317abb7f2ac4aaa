package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/dirbridge/dirbridge/agent"
	"github.com/dirbridge/dirbridge/config"
	"github.com/dirbridge/dirbridge/demo"
	"github.com/dirbridge/dirbridge/outbox"
)

func demoCmd(g *globals) *cobra.Command {
	var dir, listen string
	var stopAfter time.Duration
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run dirbridge on a demo directory (LDIF) with two mock apps",
		Long: "Write a demo workspace (50 people in an AD-style LDIF file, a mapping, a config with\n" +
			"two mock apps) and run the agent on it in the foreground. Edit the LDIF while it runs\n" +
			"to see requests follow: disable someone, remove them from a group.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if stopAfter > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, stopAfter)
				defer cancel()
			}
			return runDemo(ctx, dir, listen, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "workspace directory (default: a new temporary directory; an existing workspace is reused)")
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8470", "status endpoint address")
	cmd.Flags().DurationVar(&stopAfter, "stop-after", 0, "stop by itself after this long (for scripts)")
	return cmd
}

func runDemo(ctx context.Context, dir, listen string, out, logw io.Writer) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "dirbridge-demo-")
		if err != nil {
			return err
		}
		dir = d
	}
	cfgPath := filepath.Join(dir, demo.ConfigFile)
	if _, err := os.Stat(cfgPath); errors.Is(err, os.ErrNotExist) {
		if err := demo.Write(dir, listen); err != nil {
			return fmt.Errorf("writing the demo workspace: %w", err)
		}
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return usageError{err}
	}
	log, err := newLogger(cfg.Log, logw)
	if err != nil {
		return err
	}
	agent.TuneRuntime()
	a, err := agent.New(agent.Options{Config: cfg, Logger: log})
	if err != nil {
		return err
	}
	defer a.Close()
	url := "http://" + cfg.Status.Listen + "/"
	fmt.Fprintf(out, "dirbridge demo\n  workspace: %s\n  status:    %s\n\n", dir, url)
	go reportWhenSettled(ctx, a, out, dir, url)
	return runAgent(ctx, a, cfg, log)
}

// reportWhenSettled prints a summary once the first full read is done and
// nothing is queued any more, then how to try a change.
func reportWhenSettled(ctx context.Context, a *agent.Agent, out io.Writer, dir, url string) {
	t := time.NewTicker(300 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s, err := a.Status(ctx)
		if err != nil || s.Sync.FullReadEnded.IsZero() || s.Mapping.LoadedAt.IsZero() || busy(s) {
			continue
		}
		printSummary(out, s, dir, url)
		return
	}
}

func busy(s agent.Status) bool {
	if s.Mapping.Replan != nil || s.Mapping.LoadedAt.IsZero() {
		return true // everyone is still being planned
	}
	for _, app := range s.Apps {
		for _, st := range []outbox.State{outbox.StateNew, outbox.StateApproved, outbox.StateProvisioning, outbox.StateRetrying} {
			if app.Requests[st] > 0 {
				return true
			}
		}
	}
	return false
}

func printSummary(out io.Writer, s agent.Status, dir, url string) {
	fmt.Fprintf(out, "\nInitial sync done: %d people read.\n", s.Sync.FullReadPeople)
	names := make([]string, 0, len(s.Apps))
	for n := range s.Apps {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		a := s.Apps[n]
		fmt.Fprintf(out, "  %-11s %3d requests completed, %d failed, %d held for approval\n", n,
			a.Requests[outbox.StateCompleted], a.Requests[outbox.StateFailed], a.Held)
	}
	fmt.Fprintf(out, `
Try a change (the agent notices within a second or two):
  - disable someone: in %[1]s set "userAccountControl: 514" on a person
  - take someone out of Slack: delete their "member:" line under CN=Slack Users
Then look:
  curl -s %[2]sapi/v1/status
  dirbridge requests list --config %[3]s
  open %[2]s in a browser, or: dirbridge person %[5]s --config %[3]s
Stop with Ctrl-C; run again with --dir %[4]s to continue where you left off.
`, filepath.Join(dir, demo.LDIFFile), url, filepath.Join(dir, demo.ConfigFile), dir, demo.People()[0].Login)
}
