package main

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"

	"github.com/kardianos/service"
	"github.com/spf13/cobra"
)

// serviceName is the name of the system service.
const serviceName = "dirbridge"

// defaultServiceUser is the least-privilege identity the service runs as:
// a system user on Linux, a virtual account on Windows (never LocalSystem).
func defaultServiceUser() string {
	if runtime.GOOS == "windows" {
		return `NT SERVICE\dirbridge`
	}
	return "dirbridge"
}

func serviceConfig(configPath, user string) (*service.Config, error) {
	abs, err := filepath.Abs(configPath)
	if err != nil {
		return nil, err
	}
	return &service.Config{
		Name:        serviceName,
		DisplayName: "dirbridge directory sync agent",
		Description: "Keeps SaaS accounts in step with Active Directory or LDAP.",
		UserName:    user,
		Arguments:   []string{"run", "--config", abs},
		Dependencies: []string{
			"After=network-online.target",
			"Wants=network-online.target",
		},
		Option: service.KeyValue{
			"Restart":                "on-failure", // systemd
			"OnFailure":              "restart",    // Windows recovery actions
			"OnFailureDelayDuration": "5s",
			"OnFailureResetPeriod":   86400,
			"DelayedAutoStart":       true,
		},
	}, nil
}

// program adapts the agent to the service manager (Windows SCM; on Linux
// the process simply runs under systemd).
type program struct {
	run    func(ctx context.Context) error
	cancel context.CancelFunc
	done   chan error
}

func (p *program) Start(s service.Service) error {
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel, p.done = cancel, make(chan error, 1)
	go func() { p.done <- p.run(ctx) }()
	return nil
}

func (p *program) Stop(s service.Service) error {
	p.cancel()
	return <-p.done
}

func serviceCmd(g *globals) *cobra.Command {
	var user string
	cmd := &cobra.Command{
		Use:   "service install|uninstall|start|stop|restart|status",
		Short: "Manage dirbridge as a system service (systemd or the Windows service manager)",
		Long: "Install dirbridge as a system service that runs `dirbridge run --config FILE` as a\n" +
			"least-privilege identity (a system user on Linux, the virtual account NT SERVICE\\dirbridge\n" +
			"on Windows), restarts on failure, and starts at boot. Create the identity and give it\n" +
			"read access to the config and secrets first (see packaging/).",
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"install", "uninstall", "start", "stop", "restart", "status"},
		RunE: func(cmd *cobra.Command, args []string) error {
			sc, err := serviceConfig(g.configPath, user)
			if err != nil {
				return err
			}
			svc, err := service.New(&program{}, sc)
			if err != nil {
				return err
			}
			if args[0] == "status" {
				st, err := svc.Status()
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), map[service.Status]string{
					service.StatusRunning: "running", service.StatusStopped: "stopped"}[st])
				return nil
			}
			if err := service.Control(svc, args[0]); err != nil {
				return fmt.Errorf("service %s: %w", args[0], err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "service %s: done\n", args[0])
			return nil
		},
	}
	cmd.Flags().StringVar(&user, "user", defaultServiceUser(), "identity the service runs as")
	return cmd
}
