package main

import (
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/dirbridge/dirbridge/outbox"
)

// batchesCmd shows the planning batches the mass-change guard decides on
// and lets an approver decide a held one, whole or for some people.
func batchesCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "batches", Short: "Planning batches and the mass-change guard's decisions",
		Long: "Everything one cause planned (a directory change, a full read, a mapping change, an operator\n" +
			"action) is one batch. The mass-change guard decides per batch and app: a batch that alone, or with\n" +
			"what the guard's window already admitted, crosses a limit is held whole until an approver decides.",
		Args: cobra.NoArgs, RunE: func(cmd *cobra.Command, _ []string) error { return listBatches(g, cmd) }}
	var app string
	show := &cobra.Command{Use: "show ID --app APP", Short: "Who is in an app's part of a held batch", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(args[0])
			if err != nil || app == "" {
				return usageError{fmt.Errorf("say the batch number and --app")}
			}
			b, err := g.backend(cmd.Context(), readOnly())
			if err != nil {
				return err
			}
			defer b.Close()
			reqs, err := b.Requests(cmd.Context(), outbox.Filter{App: app, Batch: id, States: []outbox.State{outbox.StateAwaitingApproval}, Oldest: true})
			if err != nil {
				return err
			}
			return g.print(cmd, reqs, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "ID\tPERSON\tOP\tWANTED\tREASON")
				for _, r := range reqs {
					fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\n", r.ID, r.PersonID, r.Op, wanted(r), oneLine(r.Reason))
				}
			})
		}}
	show.Flags().StringVar(&app, "app", "", "the app")
	cmd.AddCommand(show, decideBatchCmd(g, "approve"), decideBatchCmd(g, "deny"))
	return cmd
}

// wanted is what the request would make of the account.
func wanted(r outbox.Request) string {
	if r.Target == nil {
		return "no account"
	}
	state := "active"
	if !r.Target.Active {
		state = "inactive"
	}
	return r.Target.UserName + " (" + state + ")"
}

func listBatches(g *globals, cmd *cobra.Command) error {
	b, err := g.backend(cmd.Context(), readOnly())
	if err != nil {
		return err
	}
	defer b.Close()
	bs, err := b.Batches(cmd.Context())
	if err != nil {
		return err
	}
	if bs == nil {
		bs = []outbox.Batch{}
	}
	return g.print(cmd, bs, func(w *tabwriter.Writer) {
		fmt.Fprintln(w, "BATCH\tCAUSE\tOPENED\tAPP\tDECISION\tREQUESTS\tGUARDED\tREASON")
		for _, bt := range bs {
			apps := make([]string, 0, len(bt.Apps))
			for a := range bt.Apps {
				apps = append(apps, a)
			}
			sort.Strings(apps)
			for _, a := range apps {
				p := bt.Apps[a]
				decision := string(p.Decision)
				if decision == "" {
					decision = "open"
				}
				fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", bt.ID, bt.Cause, bt.Opened.Local().Format(time.DateTime),
					a, decision, p.Requests, kinds(p.Kinds), oneLine(p.Reason))
			}
		}
	})
}

func kinds(k map[string]int) string {
	var out []string
	for name, n := range k {
		out = append(out, fmt.Sprintf("%d %s", n, name))
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

func decideBatchCmd(g *globals, action string) *cobra.Command {
	var app, as string
	var people []string
	c := &cobra.Command{Use: action + " ID --app APP [--person LOGIN...]",
		Short: strings.ToUpper(action[:1]) + action[1:] + " an app's part of a held batch, whole or for some people",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(args[0])
			if err != nil || app == "" {
				return usageError{fmt.Errorf("say the batch number and --app")}
			}
			b, err := g.backend(cmd.Context(), readOnly())
			if err != nil {
				return err
			}
			defer b.Close()
			n, err := b.DecideBatch(cmd.Context(), id, app, action == "approve", people, actingUser(as))
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d held request(s) of %s in batch %d %s\n", n, app, id,
				map[string]string{"approve": "approved", "deny": "denied"}[action])
			return nil
		}}
	c.Flags().StringVar(&app, "app", "", "the app whose part of the batch is decided")
	c.Flags().StringSliceVar(&people, "person", nil, "only these people (login, DN or id); default everyone in it")
	c.Flags().StringVar(&as, "as", "", "who is deciding, for the log (default: your login)")
	return c
}
