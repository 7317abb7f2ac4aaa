package main

import (
	"fmt"
	"os/user"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/dirbridge/dirbridge/outbox"
)

func requestsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "requests", Short: "List, show and act on lifecycle requests"}
	var f outbox.Filter
	var states []string
	list := &cobra.Command{Use: "list", Short: "List requests, newest first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, s := range states {
				f.States = append(f.States, outbox.State(s))
			}
			b, err := g.backend(cmd.Context(), readOnly())
			if err != nil {
				return err
			}
			defer b.Close()
			reqs, err := b.Requests(cmd.Context(), f)
			if err != nil {
				return err
			}
			if reqs == nil {
				reqs = []outbox.Request{}
			}
			return g.print(cmd, reqs, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "ID\tAPP\tPERSON\tOP\tSTATE\tATTEMPTS\tUPDATED\tREASON / ERROR")
				for _, r := range reqs {
					fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", r.ID, r.App, r.PersonID, r.Op, r.State,
						r.Attempts, r.Updated.Local().Format(time.DateTime), oneLine(firstNonEmpty(r.LastError, r.HeldBecause, r.Reason)))
				}
			})
		}}
	list.Flags().StringVar(&f.App, "app", "", "only this app")
	list.Flags().StringVar(&f.PersonID, "person", "", "only this person id (with --app)")
	list.Flags().StringSliceVar(&states, "state", nil, "only these states (New, AwaitingApproval, Retrying, Failed, ...)")
	list.Flags().IntVar(&f.Limit, "limit", 50, "at most this many")
	show := &cobra.Command{Use: "show ID", Short: "Show one request with its provisioning log", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(args[0])
			if err != nil {
				return err
			}
			b, err := g.backend(cmd.Context(), readOnly())
			if err != nil {
				return err
			}
			defer b.Close()
			d, err := b.Request(cmd.Context(), id)
			if err != nil {
				return err
			}
			return g.print(cmd, d, func(w *tabwriter.Writer) {
				r := d.Request
				fmt.Fprintf(w, "Request\t%d\nApp\t%s\nPerson\t%s\nOperation\t%s\nState\t%s\nReason\t%s\n", r.ID, r.App, r.PersonID, r.Op, r.State, r.Reason)
				for _, kv := range [][2]string{{"Held because", r.HeldBecause}, {"Approver", r.Approver}, {"Operator", r.Operator},
					{"Last error", r.LastError}, {"External id", r.ExternalID}, {"User name", r.UserName}} {
					if kv[1] != "" {
						fmt.Fprintf(w, "%s\t%s\n", kv[0], kv[1])
					}
				}
				fmt.Fprintf(w, "Attempts\t%d\nCreated\t%s\nUpdated\t%s\n\nLOG\tEVENT\tSTATE\tDETAIL\n", r.Attempts, r.Created.Local().Format(time.DateTime), r.Updated.Local().Format(time.DateTime))
				for _, e := range d.Log {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", e.Time.Local().Format(time.DateTime), e.Event, e.State, oneLine(strings.TrimSpace(e.Detail+" "+e.Actor)))
				}
			})
		}}
	cmd.AddCommand(list, show, heldCmd(g))
	for _, action := range []struct{ name, help string }{
		{"retry", "Send a Failed or Retrying request again now"},
		{"approve", "Approve a request held for approval"},
		{"deny", "Deny a request held for approval"},
		{"cancel", "Cancel an open request"},
		{"complete", "Record that an operator did the work by hand"},
	} {
		cmd.AddCommand(actionCmd(g, action.name, action.help))
	}
	return cmd
}

func actionCmd(g *globals, action, help string) *cobra.Command {
	var as string
	c := &cobra.Command{Use: action + " ID...", Short: help, Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := g.backend(cmd.Context(), readOnly())
			if err != nil {
				return err
			}
			defer b.Close()
			for _, a := range args {
				id, err := parseID(a)
				if err != nil {
					return err
				}
				r, err := b.Act(cmd.Context(), id, action, actingUser(as))
				if err != nil {
					return fmt.Errorf("request %d: %w", id, err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "request %d is now %s\n", r.ID, r.State)
			}
			return nil
		}}
	c.Flags().StringVar(&as, "as", "", "who is acting, for the log (default: your login)")
	return c
}

func actingUser(as string) string {
	if as != "" {
		return as
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "unknown operator"
}

func parseID(s string) (uint64, error) {
	id, err := strconv.ParseUint(strings.TrimPrefix(s, "#"), 10, 64)
	if err != nil {
		return 0, usageError{fmt.Errorf("%q is not a request id", s)}
	}
	return id, nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 100 {
		return s[:97] + "..."
	}
	return s
}

// heldCmd decides a whole held batch (a mass change stopped by the guard).
func heldCmd(g *globals) *cobra.Command {
	var app, as string
	c := &cobra.Command{Use: "held approve|deny --app APP", Short: "Approve or deny every request of an app held for approval, at once",
		Args: cobra.ExactArgs(1), ValidArgs: []string{"approve", "deny"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if app == "" || (args[0] != "approve" && args[0] != "deny") {
				return usageError{fmt.Errorf("say approve or deny, and --app")}
			}
			b, err := g.backend(cmd.Context(), readOnly())
			if err != nil {
				return err
			}
			defer b.Close()
			n, err := b.DecideHeld(cmd.Context(), app, args[0] == "approve", actingUser(as))
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d held request(s) of %s %s\n", n, app, map[string]string{"approve": "approved", "deny": "denied"}[args[0]])
			return nil
		}}
	c.Flags().StringVar(&app, "app", "", "the app whose held batch is decided")
	c.Flags().StringVar(&as, "as", "", "who is deciding, for the log (default: your login)")
	return c
}
