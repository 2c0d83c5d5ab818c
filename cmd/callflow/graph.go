package main

import (
	"github.com/spf13/cobra"

	"github.com/callflow/callflow/compiler"
)

func newGraphCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "graph DIR FLOW",
		Short: "Draw a flow as a Graphviz (dot) or Mermaid diagram",
		Long: `graph draws flow FLOW of the configuration in DIR: a start node, every state
with its kind and main settings, and every connection labelled by its
outcome (key 1, timeout, busy, unavailable…). States that no caller can
reach are drawn dashed.

The configuration must be valid; if it is not, graph prints the errors as
validate does and exits 1.`,
		Example: `  callflow graph examples/acme support | dot -Tsvg > support.svg
  callflow graph examples/acme support --format mermaid >> docs/flows.md`,
		Args: argsBetween(2, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, compiler.GraphFormats...); err != nil {
				return err
			}
			m, err := loadModel(cmd.ErrOrStderr(), args[0])
			if err != nil {
				return err
			}
			f, ok := m.Flows[args[1]]
			if !ok {
				return &exitError{code: exitFail, msg: unknownFlow(args[0], args[1], m)}
			}
			return compiler.WriteGraph(cmd.OutOrStdout(), f, format)
		},
	}
	cmd.Flags().StringVar(&format, "format", "dot", "diagram format: dot or mermaid")
	return cmd
}
