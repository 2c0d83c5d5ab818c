package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/callflow/callflow/numbers"
)

// EnvInventory names the environment variable that locates the trunk
// inventory file.
const EnvInventory = "CALLFLOW_INVENTORY"

func addInventoryFlag(cmd *cobra.Command, path *string) {
	cmd.Flags().StringVar(path, "inventory", "", "the trunk's number inventory, a CSV of e164,type,region (default $"+EnvInventory+", else "+numbers.InventoryFile+" in DIR)")
}

// loadInventory reads the inventory named by the flag, the environment,
// or the default file in dir.
func loadInventory(path, dir string) (*numbers.Inventory, error) {
	if path == "" {
		path = os.Getenv(EnvInventory)
	}
	if path == "" {
		path = filepath.Join(dir, numbers.InventoryFile)
	}
	inv, err := numbers.LoadInventory(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &exitError{code: exitFail, msg: fmt.Sprintf("no number inventory at %s: list the numbers your SIP trunk carries there, one e164,type,region per line, or name the file with --inventory", path)}
	}
	if err != nil {
		return nil, &exitError{code: exitFail, msg: err.Error()}
	}
	return inv, nil
}
