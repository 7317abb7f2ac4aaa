package main

import (
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/dirbridge/dirbridge/mapping"
)

func previewCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "preview LOGIN|DN|ID",
		Short: "Show how the mapping sees one person and what would be requested now; sends nothing",
		Long: "Read one person (live from the directory when the source can, else the stored snapshot),\n" +
			"evaluate the running mapping, and show per app whether the person is assigned, by which\n" +
			"rule, the account they should have, and the requests that would be queued now.\n" +
			"Nothing is stored or sent.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := g.backend(cmd.Context(), readOnly())
			if err != nil {
				return err
			}
			defer b.Close()
			p, err := b.Preview(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.print(cmd, p, func(w *tabwriter.Writer) {
				fmt.Fprintf(w, "Person\t%s\nId\t%s\nRead from\t%s\nIn scope\t%v\n", p.Entry.DN, p.Entry.ID, p.Source, p.InScope)
				for _, tst := range p.Scope {
					fmt.Fprintf(w, "  scope\t%s %s\n", verdict(tst), tst.What)
				}
				id := p.Identity
				fmt.Fprintf(w, "Identity\tuserName=%s anchor=%s active=%v frozen=%v protected=%v\n", id.UserName, id.Anchor, id.Active, id.Frozen, id.Protected)
				names := make([]string, 0, len(p.Entry.Attributes))
				for n := range p.Entry.Attributes {
					names = append(names, n)
				}
				sort.Strings(names)
				for _, n := range names {
					fmt.Fprintf(w, "  %s\t%s\n", n, printable(strings.Join(p.Entry.Attributes[n], " | ")))
				}
				apps := make([]string, 0, len(p.Apps))
				for a := range p.Apps {
					apps = append(apps, a)
				}
				sort.Strings(apps)
				for _, name := range apps {
					a := p.Apps[name]
					fmt.Fprintf(w, "\nApp %s\tassigned=%v\n", name, a.Assigned)
					for _, tst := range a.Rules {
						fmt.Fprintf(w, "  rule\t%s %s\n", verdict(tst), tst.What)
					}
					if a.Desired != nil {
						keys := make([]string, 0, len(a.Desired.Attributes))
						for k := range a.Desired.Attributes {
							keys = append(keys, k)
						}
						sort.Strings(keys)
						for _, k := range keys {
							fmt.Fprintf(w, "  %s\t%v\n", k, a.Desired.Attributes[k])
						}
					}
					if len(a.Requests) == 0 {
						fmt.Fprintln(w, "  would request\tnothing (the app already has what the mapping says)")
					}
					for _, r := range a.Requests {
						fmt.Fprintf(w, "  would request\t%s: %s %s\n", r.Op, r.Reason, r.Held)
					}
				}
			})
		},
	}
}

// printable shows binary values (objectGUID, photos) as hex, not noise.
func printable(s string) string {
	for _, r := range s {
		if r == '\uFFFD' || (r < 0x20 && r != '\t') {
			return fmt.Sprintf("(binary, %d bytes) %x", len(s), []byte(s[:min(len(s), 32)]))
		}
	}
	return s
}

func verdict(t mapping.Test) string {
	switch {
	case t.Err != "":
		return "error (" + t.Err + ")"
	case t.Decided:
		return "MATCH (decides)"
	case t.Passed:
		return "match"
	default:
		return "no match"
	}
}
