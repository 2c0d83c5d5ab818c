package main

import (
	"fmt"
	"io"
	"sort"

	"github.com/spf13/cobra"

	"github.com/callflow/callflow/compiler"
	"github.com/callflow/callflow/vm"
)

// loadFlow checks the configuration in dir and compiles flow name. When
// the configuration has errors it prints them to stderr and returns an
// exit error, as validate would.
func loadFlow(cmd *cobra.Command, dir, name string) (*compiler.Model, *compiler.Flow, *vm.Program, error) {
	m, err := loadModel(cmd.ErrOrStderr(), dir)
	if err != nil {
		return nil, nil, nil, err
	}
	f, ok := m.Flows[name]
	if !ok {
		return nil, nil, nil, &exitError{code: exitFail, msg: unknownFlow(dir, name, m)}
	}
	p, err := compiler.Lower(f)
	if err != nil {
		return nil, nil, nil, err
	}
	return m, f, p, nil
}

// loadModel checks the configuration in dir, printing errors to w.
func loadModel(w io.Writer, dir string) (*compiler.Model, error) {
	m, files, diags := compiler.CheckDir(dir)
	if diags.HasErrors() {
		writeText(w, files, diags, reportOptions{summary: true})
		return nil, &exitError{code: exitFail}
	}
	return m, nil
}

// unknownFlow explains that dir has no flow called name.
func unknownFlow(dir, name string, m *compiler.Model) string {
	names := make([]string, 0, len(m.Flows))
	for n := range m.Flows {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return fmt.Sprintf("%s has no flows", dir)
	}
	return fmt.Sprintf("%s has no flow named %q; its flows are: %v", dir, name, names)
}
