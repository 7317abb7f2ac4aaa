package main

import (
	"encoding/csv"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/dirbridge/dirbridge/outbox"
)

func accountsCmd(g *globals) *cobra.Command {
	var app string
	cmd := &cobra.Command{Use: "accounts", Short: "List app accounts and their links to people", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := g.backend(cmd.Context(), readOnly())
			if err != nil {
				return err
			}
			defer b.Close()
			states, err := b.Accounts(cmd.Context(), app)
			if err != nil {
				return err
			}
			if g.output == "csv" {
				return writeAccountsCSV(cmd, states)
			}
			return g.print(cmd, states, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "APP\tPERSON\tEXTERNAL ID\tUSER NAME\tSTATUS\tLINK\tSHOULD BE\tOPEN REQUESTS")
				for _, st := range states {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", st.App, st.PersonID, st.Account.ExternalID,
						st.Account.UserName, st.Account.Status, st.Link, shouldBe(st), len(st.Pending))
				}
			})
		}}
	cmd.Flags().StringVar(&app, "app", "", "only this app")
	return cmd
}

func shouldBe(st outbox.AppState) string {
	switch {
	case st.Desired == nil:
		return "no account"
	case st.Desired.Frozen:
		return "frozen"
	case st.Desired.Active:
		return "active"
	default:
		return "inactive"
	}
}

func writeAccountsCSV(cmd *cobra.Command, states []outbox.AppState) error {
	w := csv.NewWriter(cmd.OutOrStdout())
	_ = w.Write([]string{"app", "person", "externalId", "userName", "status", "link", "shouldBe", "openRequests"})
	for _, st := range states {
		_ = w.Write([]string{st.App, st.PersonID, st.Account.ExternalID, st.Account.UserName, string(st.Account.Status),
			string(st.Link), shouldBe(st), fmt.Sprint(len(st.Pending))})
	}
	w.Flush()
	return w.Error()
}
