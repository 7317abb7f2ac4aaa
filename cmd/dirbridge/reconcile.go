package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/dirbridge/dirbridge/agent"
)

func reconcileCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "reconcile APP",
		Short: "Compare every account an app has with the directory; changes nothing",
		Long: "Read every account the app has and compare it with what dirbridge knows: linked\n" +
			"accounts, accounts that match a person but are not linked yet, orphaned accounts\n" +
			"nobody in the directory claims, accounts whose status differs from what the mapping\n" +
			"wants, and people who should have an account the app lacks. Nothing is changed.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := g.backend(cmd.Context(), agent.Options{Logger: zerolog.Nop()}) // the app is read
			if err != nil {
				return err
			}
			defer b.Close()
			rep, err := b.Reconcile(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.print(cmd, rep, func(w *tabwriter.Writer) {
				fmt.Fprintf(w, "App\t%s\nCounts\t%v\n\nMATCH\tEXTERNAL ID\tUSER NAME\tSTATUS\tPERSON\tPROBLEM\n", rep.App, rep.Counts)
				for _, r := range append(rep.Accounts, rep.Missing...) {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Match, r.ExternalID, r.UserName, r.Status, firstNonEmpty(r.PersonDN, r.PersonID), r.Problem)
				}
			})
		},
	}
}
