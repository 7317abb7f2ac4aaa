package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func personCmd(g *globals) *cobra.Command {
	return &cobra.Command{Use: "person LOGIN|DN|ID", Short: "Show what dirbridge knows and did for one person", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := g.backend(cmd.Context(), readOnly())
			if err != nil {
				return err
			}
			defer b.Close()
			v, err := b.Person(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.print(cmd, v, func(w *tabwriter.Writer) {
				fmt.Fprintf(w, "Person\t%s\nId\t%s\nDeleted\t%v\nGroups\t%s\n\n", v.Person.DN, v.Person.ID, v.Person.Deleted, strings.Join(v.Groups, ", "))
				fmt.Fprintln(w, "APP\tACCOUNT\tSTATUS\tSHOULD BE\tOPEN REQUESTS")
				for app, st := range v.Apps {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\n", app, st.Account.ExternalID, st.Account.Status, shouldBe(st), len(st.Pending))
				}
				fmt.Fprintln(w, "\nREQUEST\tAPP\tOP\tSTATE\tREASON / ERROR")
				for _, r := range v.Requests {
					fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\n", r.ID, r.App, r.Op, r.State, oneLine(firstNonEmpty(r.LastError, r.Reason)))
				}
			})
		}}
}
