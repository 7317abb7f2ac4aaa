package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

// print writes v as JSON with --output json, or as a table.
func (g *globals) print(cmd *cobra.Command, v any, table func(*tabwriter.Writer)) error {
	switch g.output {
	case "json":
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "table", "":
		w := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
		table(w)
		return w.Flush()
	default:
		return usageError{fmt.Errorf("--output %q: want table or json", g.output)}
	}
}
