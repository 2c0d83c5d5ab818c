// Package trunk holds the credentials callflow authenticates to carriers
// with, by trunk name, kept out of HCL and Git: Load reads them from the
// environment and from the file given to `callflow serve
// --trunk-credentials`, and Set.Lookup finds a trunk's.
//
// The environment names each trunk's credentials
//
//	CALLFLOW_TRUNK_<NAME>_USERNAME
//	CALLFLOW_TRUNK_<NAME>_PASSWORD
//	CALLFLOW_TRUNK_<NAME>_REALM     (optional)
//
// where NAME is the trunk's name upper-cased, every character other than
// A-Z and 0-9 written as "_" (trunk "my-carrier" is MY_CARRIER). The
// file holds the same variables, one NAME=VALUE a line: the value is
// everything after the first "=", as it is (spaces and "#" included, no
// quotes); blank lines and lines whose first non-blank character is "#"
// are ignored. A variable of the environment overrides the file's.
package trunk

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/callflow/callflow/telephony/dialog"
)

// Prefix begins the name of every variable Load reads.
const Prefix = "CALLFLOW_TRUNK_"

// Credentials are a trunk's digest credentials: the ones an outgoing
// INVITE answers a carrier's challenge with (their String and GoString
// hide the password).
type Credentials = dialog.Credentials

// Set is the credentials of the trunks, by the NAME of their variables.
// The zero Set, and a nil one, hold none. A Set is not changed after
// Load, so it is safe for concurrent use.
type Set struct {
	byName map[string]Credentials
	source map[string]string // where each came from, for Names
}

// Key is the NAME of a trunk's variables: its name upper-cased, with "_"
// for every character other than A-Z and 0-9.
func Key(trunk string) string {
	b := []byte(strings.ToUpper(trunk))
	for i, c := range b {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			b[i] = '_'
		}
	}
	return string(b)
}

// Lookup returns the credentials of the trunk named trunk, and whether it
// has any.
func (s *Set) Lookup(trunk string) (Credentials, bool) {
	if s == nil {
		return Credentials{}, false
	}
	c, ok := s.byName[Key(trunk)]
	return c, ok
}

// Names are the NAMEs that have credentials, sorted, each with where its
// credentials came from ("environment", or the file and its lines), for
// a log line at start: never a password.
func (s *Set) Names() []string {
	if s == nil {
		return nil
	}
	var out []string
	for name := range s.byName {
		out = append(out, name+" ("+s.source[name]+")")
	}
	sort.Strings(out)
	return out
}

// ErrPermissions is wrapped by Load's error when the file may be read or
// written by others than its owner.
var ErrPermissions = errors.New("trunk credentials file is open to group or others")

// Load reads the trunks' credentials from file (none when "") and from
// environ (os.Environ's form, NAME=VALUE), environ's overriding file's
// variable by variable. It refuses a file readable or writable by group
// or others. Its errors name the file and line, or the variable, but
// never a value. A trunk with a username must have a password and the
// other way round; a realm needs both.
func Load(file string, environ []string) (*Set, error) {
	vars := map[string]variable{}
	if file != "" {
		if err := readFile(file, vars); err != nil {
			return nil, err
		}
	}
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, Prefix) {
			continue
		}
		if _, _, ok := split(name); !ok {
			continue // another program's variable, or a typo: the file is where unknown names are errors
		}
		vars[name] = variable{value: value, where: "environment"}
	}
	return build(vars)
}

// variable is one NAME=VALUE and where it was read.
type variable struct {
	value string
	where string // "environment" or "FILE:LINE"
}

// split cuts a variable's name into its trunk's NAME and its field.
func split(name string) (key, field string, ok bool) {
	rest, ok := strings.CutPrefix(name, Prefix)
	if !ok {
		return "", "", false
	}
	for _, f := range []string{"USERNAME", "PASSWORD", "REALM"} {
		if k, ok := strings.CutSuffix(rest, "_"+f); ok && k != "" && Key(k) == k {
			return k, f, true
		}
	}
	return "", "", false
}

func readFile(file string, vars map[string]variable) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("trunk credentials: %v", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("trunk credentials: %v", err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%w: %s has mode %04o; make it the server's only (chmod 600 %s)", ErrPermissions, file, perm, file)
	}
	return parse(file, f, vars)
}

// parse reads the file's lines into vars. name is the file's, for
// errors.
func parse(name string, r io.Reader, vars map[string]variable) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 64<<10)
	seen := map[string]int{}
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSuffix(sc.Text(), "\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		where := fmt.Sprintf("%s:%d", name, n)
		key, value, ok := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		if !ok {
			return fmt.Errorf("%s: write NAME=VALUE, such as %sCARRIER_USERNAME=alice (no \"=\" on the line)", where, Prefix)
		}
		if _, _, ok := split(key); !ok {
			// Only a name of ours is quoted: what comes before the "="
			// of another line may be a password.
			if strings.HasPrefix(key, Prefix) && !strings.ContainsAny(key, " \t") {
				return fmt.Errorf("%s: %q is not a trunk credential: write %s<NAME>_USERNAME, _PASSWORD or _REALM, NAME in A-Z, 0-9 and _", where, clip(key), Prefix)
			}
			return fmt.Errorf("%s: the line does not begin with %s<NAME>_USERNAME=, _PASSWORD= or _REALM=", where, Prefix)
		}
		if first, dup := seen[key]; dup {
			return fmt.Errorf("%s: %s is set again (first on line %d)", where, key, first)
		}
		seen[key] = n
		vars[key] = variable{value: value, where: where}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}
	return nil
}

// clip shortens a name quoted in an error: a line without its "=" may
// hold a password.
func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

// build checks that each trunk's fields go together and makes the Set.
func build(vars map[string]variable) (*Set, error) {
	type fields struct {
		c     Credentials
		where map[string]string
	}
	byKey := map[string]*fields{}
	for name, v := range vars {
		key, field, _ := split(name)
		f := byKey[key]
		if f == nil {
			f = &fields{where: map[string]string{}}
			byKey[key] = f
		}
		f.where[field] = v.where
		switch field {
		case "USERNAME":
			f.c.Username = v.value
		case "PASSWORD":
			f.c.Password = v.value
		case "REALM":
			f.c.Realm = v.value
		}
	}
	s := &Set{byName: map[string]Credentials{}, source: map[string]string{}}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var errs []error
	for _, key := range keys {
		f := byKey[key]
		name := Prefix + key
		switch {
		case f.c.Username == "" && f.c.Password == "":
			errs = append(errs, fmt.Errorf("%s: %s_REALM is set without %s_USERNAME and %s_PASSWORD", somewhere(f.where), name, name, name))
		case f.c.Username == "":
			errs = append(errs, fmt.Errorf("%s: %s_PASSWORD is set, and %s_USERNAME is missing or empty", somewhere(f.where), name, name))
		case f.c.Password == "":
			errs = append(errs, fmt.Errorf("%s: %s_USERNAME is set, and %s_PASSWORD is missing or empty", somewhere(f.where), name, name))
		default:
			s.byName[key] = f.c
			s.source[key] = sources(f.where)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// somewhere is where one of a trunk's fields was set, for an error.
func somewhere(where map[string]string) string {
	for _, f := range []string{"USERNAME", "PASSWORD", "REALM"} {
		if w, ok := where[f]; ok {
			return w
		}
	}
	return "trunk credentials"
}

// sources says where a trunk's fields came from.
func sources(where map[string]string) string {
	var out []string
	for _, f := range []string{"USERNAME", "PASSWORD", "REALM"} {
		if w, ok := where[f]; ok && !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return strings.Join(out, ", ")
}
