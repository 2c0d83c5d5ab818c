package trunk_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/callflow/callflow/telephony/trunk"
)

func TestKey(t *testing.T) {
	for in, want := range map[string]string{
		"carrier": "CARRIER", "my-carrier": "MY_CARRIER", "Twilio.EU 2": "TWILIO_EU_2", "é": "__",
	} {
		if got := trunk.Key(in); got != want {
			t.Errorf("Key(%q) = %q, want %q", in, got, want)
		}
	}
}

// writeFile writes a credentials file of mode perm.
func writeFile(t *testing.T, text string, perm os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "trunks.env")
	if err := os.WriteFile(path, []byte(text), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil { // past the umask
		t.Fatal(err)
	}
	return path
}

func TestLoad(t *testing.T) {
	const secret = "pa ss#=word"
	tests := []struct {
		name    string
		file    string // "" for no file
		env     []string
		want    map[string]trunk.Credentials // by trunk name
		wantErr string                       // a part of the error; "" for none
	}{
		{
			name: "file",
			file: "# the carrier's\n\nCALLFLOW_TRUNK_MY_CARRIER_USERNAME=alice\r\n  CALLFLOW_TRUNK_MY_CARRIER_PASSWORD=" + secret + "\nCALLFLOW_TRUNK_MY_CARRIER_REALM=sip.example\n",
			want: map[string]trunk.Credentials{"my-carrier": {Username: "alice", Password: secret, Realm: "sip.example"}},
		},
		{
			name: "environment",
			env:  []string{"PATH=/bin", "CALLFLOW_TRUNK_CARRIER_USERNAME=bob", "CALLFLOW_TRUNK_CARRIER_PASSWORD=" + secret, "CALLFLOW_TRUNK_OTHER_THING=x"},
			want: map[string]trunk.Credentials{"carrier": {Username: "bob", Password: secret}, "Carrier": {Username: "bob", Password: secret}},
		},
		{
			name: "the environment overrides the file field by field",
			file: "CALLFLOW_TRUNK_CARRIER_USERNAME=alice\nCALLFLOW_TRUNK_CARRIER_PASSWORD=old\n",
			env:  []string{"CALLFLOW_TRUNK_CARRIER_PASSWORD=" + secret},
			want: map[string]trunk.Credentials{"carrier": {Username: "alice", Password: secret}},
		},
		{
			name:    "a password without its username",
			file:    "CALLFLOW_TRUNK_CARRIER_PASSWORD=" + secret + "\n",
			wantErr: "CARRIER_USERNAME is missing",
		},
		{
			name:    "a username without its password, from the environment",
			env:     []string{"CALLFLOW_TRUNK_CARRIER_USERNAME=bob"},
			wantErr: "environment: CALLFLOW_TRUNK_CARRIER_USERNAME is set, and CALLFLOW_TRUNK_CARRIER_PASSWORD is missing",
		},
		{
			name:    "a realm alone",
			file:    "\nCALLFLOW_TRUNK_CARRIER_REALM=x\n",
			wantErr: ":2: CALLFLOW_TRUNK_CARRIER_REALM is set without",
		},
		{
			name:    "a line without =",
			file:    "CALLFLOW_TRUNK_CARRIER_USERNAME=a\n" + secret + "\n",
			wantErr: ":2: the line does not begin with CALLFLOW_TRUNK_",
		},
		{
			name:    "a value on a line of its own",
			file:    "CALLFLOW_TRUNK_CARRIER_USERNAME=a\nhunter2\n",
			wantErr: ":2: write NAME=VALUE",
		},
		{
			name:    "an unknown name",
			file:    "CALLFLOW_TRUNK_CARRIER_USER=a\n",
			wantErr: `:1: "CALLFLOW_TRUNK_CARRIER_USER" is not a trunk credential`,
		},
		{
			name:    "a name in lower case",
			file:    "CALLFLOW_TRUNK_carrier_USERNAME=a\n",
			wantErr: ":1: \"CALLFLOW_TRUNK_carrier_USERNAME\" is not",
		},
		{
			name:    "set twice",
			file:    "CALLFLOW_TRUNK_CARRIER_USERNAME=a\nCALLFLOW_TRUNK_CARRIER_PASSWORD=" + secret + "\nCALLFLOW_TRUNK_CARRIER_PASSWORD=b\n",
			wantErr: ":3: CALLFLOW_TRUNK_CARRIER_PASSWORD is set again (first on line 2)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var path string
			if tt.file != "" {
				path = writeFile(t, tt.file, 0o600)
			}
			s, err := trunk.Load(path, tt.env)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load: %v, want an error with %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error gives the password away: %v", err)
				}
				if path != "" && !strings.Contains(err.Error(), path) && !strings.Contains(err.Error(), "environment") {
					t.Errorf("the error names neither the file nor the environment: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			for name, want := range tt.want {
				if got, ok := s.Lookup(name); !ok || got != want {
					t.Errorf("Lookup(%q) = %#v, %v; want %#v", name, got, ok, want)
				}
			}
			if _, ok := s.Lookup("nobody"); ok {
				t.Error("Lookup found credentials for a trunk that has none")
			}
			for _, n := range s.Names() {
				if strings.Contains(n, secret) {
					t.Errorf("Names gives the password away: %q", n)
				}
			}
		})
	}
}

// A file readable by group or others is refused, whatever it holds.
func TestLoadPermissions(t *testing.T) {
	for _, perm := range []os.FileMode{0o640, 0o604, 0o660, 0o606} {
		path := writeFile(t, "CALLFLOW_TRUNK_CARRIER_USERNAME=a\nCALLFLOW_TRUNK_CARRIER_PASSWORD=b\n", perm)
		_, err := trunk.Load(path, nil)
		if !errors.Is(err, trunk.ErrPermissions) || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("mode %04o: %v, want ErrPermissions saying chmod 600", perm, err)
		}
	}
	path := writeFile(t, "CALLFLOW_TRUNK_CARRIER_USERNAME=a\nCALLFLOW_TRUNK_CARRIER_PASSWORD=b\n", 0o400)
	if _, err := trunk.Load(path, nil); err != nil {
		t.Errorf("mode 0400: %v", err)
	}
	if _, err := trunk.Load(filepath.Join(t.TempDir(), "missing"), nil); err == nil {
		t.Error("a missing file is not an error")
	}
}

// Nothing that prints credentials prints the password.
func TestCredentialsHidePassword(t *testing.T) {
	c := trunk.Credentials{Username: "alice", Password: "hunter2", Realm: "sip.example"}
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		if s := fmt.Sprintf(f, c); strings.Contains(s, "hunter2") || !strings.Contains(s, "alice") {
			t.Errorf("%s gives %q", f, s)
		}
	}
	var none *trunk.Set
	if _, ok := none.Lookup("x"); ok || none.Names() != nil {
		t.Error("a nil Set holds credentials")
	}
}

// No file may panic the loader, and what it loads follows the rules: a
// username and a password for every trunk found, and no error that
// quotes a password (one is added to every file).
func FuzzLoad(f *testing.F) {
	f.Add("CALLFLOW_TRUNK_CARRIER_USERNAME=alice\nCALLFLOW_TRUNK_CARRIER_PASSWORD=pw\n")
	f.Add("# x\n\r\nCALLFLOW_TRUNK_A_B_REALM=r\nCALLFLOW_TRUNK_A_B_USERNAME=u\nCALLFLOW_TRUNK_A_B_PASSWORD==\n")
	f.Add("CALLFLOW_TRUNK__USERNAME=x\n=\n")
	f.Add("CALLFLOW_TRUNK_X_USERNAME_PASSWORD=1\nCALLFLOW_TRUNK_X_USERNAME_USERNAME=2")
	f.Add("CALLFLOW_TRUNK_Z_PASSWORD=again\n")
	const secret = "s3cr3t-\x01-value"
	dir := f.TempDir()
	n := 0
	f.Fuzz(func(t *testing.T, text string) {
		n++
		path := filepath.Join(dir, fmt.Sprintf("f%d", n))
		text += "\nCALLFLOW_TRUNK_Z_PASSWORD=" + secret + "\n"
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(path)
		s, err := trunk.Load(path, nil)
		if err != nil {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the error quotes a password: %v", err)
			}
			return
		}
		for _, name := range s.Names() {
			key, _, _ := strings.Cut(name, " ")
			c, ok := s.Lookup(key)
			if !ok || c.Username == "" || c.Password == "" {
				t.Errorf("%s: %#v, %v", key, c, ok)
			}
		}
	})
}
