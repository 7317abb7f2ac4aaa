package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/dirbridge/dirbridge/config"
	"github.com/dirbridge/dirbridge/connectors"
	"github.com/dirbridge/dirbridge/directory"
	"github.com/dirbridge/dirbridge/mapping"
)

// finding is one line of `dirbridge check`.
type finding struct {
	Area     string             `json:"area"`
	Severity directory.Severity `json:"severity"`
	Subject  string             `json:"subject"`
	Message  string             `json:"message"`
	Fix      string             `json:"fix,omitempty"`
}

func checkCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "Check the config, the mapping, the directory bind and rights, and every app",
		Long: "Check everything dirbridge needs without changing anything: the config file, the\n" +
			"mapping files, the directory (bind, bases, the change-detection method and why, missing\n" +
			"rights with the exact grant that fixes each) and every app (credentials, reachability).\n" +
			"Exit code 1 when anything is an error.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Minute)
			defer cancel()
			var fs []finding
			fs = append(fs, checkMapping(cfg)...)
			fs = append(fs, checkDirectory(ctx, cfg)...)
			fs = append(fs, checkApps(ctx, cfg)...)
			if err := g.print(cmd, fs, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "AREA\tRESULT\tSUBJECT\tDETAIL")
				for _, f := range fs {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", f.Area, f.Severity, f.Subject, f.Message)
					if f.Fix != "" {
						fmt.Fprintf(w, "\t\t\tfix: %s\n", f.Fix)
					}
				}
			}); err != nil {
				return err
			}
			for _, f := range fs {
				if f.Severity == directory.SeverityError {
					return errors.New("check found errors")
				}
			}
			return nil
		},
	}
}

func checkMapping(cfg *config.Config) []finding {
	var files []string
	for _, f := range cfg.Mapping.Files {
		files = append(files, cfg.Resolve(f))
	}
	if err := mapping.Check(files, mapping.AnyGroup{}); err != nil {
		return []finding{{Area: "mapping", Severity: directory.SeverityError, Subject: "files", Message: err.Error()}}
	}
	return []finding{{Area: "mapping", Severity: directory.SeverityOK, Subject: "files",
		Message: fmt.Sprintf("%d file(s) valid; group names are resolved against the directory when the agent runs", len(files))}}
}

func checkDirectory(ctx context.Context, cfg *config.Config) []finding {
	src, err := directory.New(cfg.Directory.Type, directory.Env{Logger: zerolog.Nop(),
		Decode: cfg.Directory.Settings.Decode, BaseDir: filepath.Dir(cfg.File)})
	if err != nil {
		return []finding{{Area: "directory", Severity: directory.SeverityError, Subject: "settings", Message: err.Error()}}
	}
	defer src.Close()
	c, ok := src.(directory.Checker)
	if !ok {
		return []finding{{Area: "directory", Severity: directory.SeverityOK, Subject: cfg.Directory.Type, Message: src.Describe()}}
	}
	var out []finding
	for _, f := range c.Check(ctx) {
		out = append(out, finding{Area: "directory", Severity: f.Severity, Subject: f.Subject, Message: f.Message, Fix: f.Fix})
	}
	return out
}

func checkApps(ctx context.Context, cfg *config.Config) []finding {
	var out []finding
	for _, name := range cfg.AppNames() {
		app := cfg.Apps[name]
		f := finding{Area: "app " + name, Subject: app.Connector, Severity: directory.SeverityOK}
		switch {
		case app.Disabled:
			f.Message = "disabled in the config"
		case app.Connector == "mock":
			f.Message = "mock target: nothing to reach"
		default:
			f.Severity, f.Message = probe(ctx, cfg, name, app)
		}
		out = append(out, f)
	}
	return out
}

func probe(ctx context.Context, cfg *config.Config, name string, app config.App) (directory.Severity, string) {
	c, err := connectors.New(app.Connector, connectors.Env{App: name, Logger: zerolog.Nop(),
		StateDir: filepath.Dir(cfg.Resolve(cfg.State.Path)), Decode: app.Settings.Decode})
	if err != nil {
		return directory.SeverityError, err.Error()
	}
	defer c.Close()
	p, ok := c.(connectors.Prober)
	if !ok {
		return directory.SeverityWarning, "this connector cannot be checked without sending a request"
	}
	if err := p.Probe(ctx); err != nil {
		return directory.SeverityError, err.Error()
	}
	return directory.SeverityOK, "reachable, credentials accepted"
}
