package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/dirbridge/dirbridge/mapping"
)

func mappingCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "mapping", Short: "Work with mapping files"}
	cmd.AddCommand(&cobra.Command{
		Use:   "check FILE...",
		Short: "Validate mapping files; every error is printed as file:line:col",
		Long: "Validate mapping files offline: syntax, keys, types, functions and expressions.\n" +
			"Group DNs are not looked up here (no directory); the running agent rejects a\n" +
			"mapping whose group does not exist and keeps the last good one.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			if err := mapping.Check(files, mapping.AnyGroup{}); err != nil {
				return usageError{err}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d mapping file(s) OK (group DNs were not looked up: the agent checks them against the directory when it loads the mapping)\n", len(files))
			return nil
		},
	})
	return cmd
}
