package numbers_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/callflow/callflow/numbers"
)

func write(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "inventory.csv")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestInventory(t *testing.T) {
	inv, err := numbers.LoadInventory(write(t, "# e164,type,region\n+14155550100,local,\"San Francisco, CA\"\n+18005550199,toll_free\n+442071838750, local, London\n"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	got, _ := inv.Available(ctx, numbers.Query{Country: "US"}, map[string]bool{"+18005550199": true})
	if len(got) != 1 || got[0].E164 != "+14155550100" || got[0].Region != "San Francisco, CA" {
		t.Errorf("US, toll-free held: %+v", got)
	}
	got, _ = inv.Available(ctx, numbers.Query{Region: "london"}, nil)
	if len(got) != 1 || got[0].Country != "GB" {
		t.Errorf("region london: %+v", got)
	}
	if err := inv.Provision(ctx, "+14155550100"); err != nil {
		t.Error(err)
	}
	if err := inv.Provision(ctx, "+14155550101"); err == nil || !strings.Contains(err.Error(), "not on the trunk") {
		t.Errorf("provisioning a number off the trunk: %v", err)
	}
}

func TestBadInventories(t *testing.T) {
	for content, want := range map[string]string{
		"+14155550100\n":                         "want e164,type[,region]",
		"+14155550100,local,a,b\n":               "want e164,type[,region]",
		"4155550100,local\n":                     "not in E.164 form",
		"+18005550199,local\n":                   "is toll_free, not local",
		"+14155550100,local\n+14155550100,local": "listed twice",
		"+8613800138000,mobile\n":                "China",
		"\"unterminated,local\n":                 "extraneous or missing",
	} {
		_, err := numbers.LoadInventory(write(t, content))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error containing %q", content, err, want)
		}
	}
}

func TestTypeExists(t *testing.T) {
	if !numbers.TypeExists("US", "toll_free") || numbers.TypeExists("AF", "toll_free") || !numbers.TypeExists("GB", "mobile") {
		t.Error("libphonenumber metadata says US has toll-free numbers, Afghanistan has none, and Britain has mobiles")
	}
}
