package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/callflow/callflow/store"
	"github.com/callflow/callflow/telephony/registrar"
)

// minPassword is the shortest password accepted. Digest hashes can be
// guessed offline by anyone who sees one exchange, so short ones fall.
const minPassword = 10

// defaultDomain is serve's default --listen host, the realm of a
// configuration without sip_domain.
const defaultDomain = "127.0.0.1"

func newUsersSetPasswordCmd() *cobra.Command {
	var db, domain string
	cmd := &cobra.Command{
		Use:   "set-password NAME",
		Short: "Set the password a user's phones register with, read from standard input",
		Long: `set-password reads one line from standard input, the password of the user
NAME, and stores its digest hashes (MD5 and SHA-256, RFC 8760) for the SIP
domain; never the password. From a terminal it asks twice, without echo.
The user must be declared in the live configuration (callflow users list
shows who is). A password is at least 10 characters.

The hashes are bound to the domain (the digest realm): the organization's
sip_domain when the configuration has one, else --domain, which defaults
to 127.0.0.1, serve's default --listen host. Set --domain to the address
phones register at (serve's --advertise or --listen host) when the
configuration names no sip_domain; when the domain changes, set every
password again. Phones already registered stay registered until their
next refresh.`,
		Example: `  callflow users set-password alice            (asks on a terminal)
  printf '%s\n' "$ALICE_PW" | callflow users set-password alice
  callflow users set-password alice --domain 10.0.0.5 < alice.pw`,
		Args: argsBetween(1, 1),
		RunE: withStore(&db, nil, func(cmd *cobra.Command, args []string, st *store.Store) error {
			ctx := cmd.Context()
			name := args[0]
			m, err := liveUsers(ctx, st)
			if err != nil {
				return err
			}
			known := false
			for _, u := range m.Users {
				known = known || u.Name == name
			}
			if !known {
				return &exitError{code: exitFail, msg: fmt.Sprintf("the live configuration declares no user %q: declare it in a user block and apply, or see the users with callflow users list", name)}
			}
			realm := m.Organization.SIPDomain
			if realm == "" {
				realm = domain
			} else if cmd.Flags().Changed("domain") && !strings.EqualFold(domain, realm) {
				return usagef("--domain %s: the configuration's sip_domain is %s, and phones register there; drop --domain", domain, realm)
			}
			pw, err := readPassword(cmd, name)
			if err != nil {
				return err
			}
			if err := st.SetCredential(ctx, registrar.NewCredential(name, realm, pw)); err != nil {
				return &exitError{code: exitFail, msg: err.Error()}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Set the password of %s for sip:%s@%s (MD5 and SHA-256 digest hashes stored).\n", name, name, realm)
			return nil
		}),
	}
	addDBFlag(cmd, &db)
	cmd.Flags().StringVar(&domain, "domain", defaultDomain, "the SIP domain (digest realm) when the configuration names no sip_domain: the host phones register at")
	return cmd
}

// readPassword reads the password: from a terminal twice, without echo;
// otherwise one line of standard input.
func readPassword(cmd *cobra.Command, name string) (string, error) {
	in := cmd.InOrStdin()
	var pw string
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		ask := func(prompt string) (string, error) {
			fmt.Fprint(cmd.ErrOrStderr(), prompt)
			b, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(cmd.ErrOrStderr())
			return string(b), err
		}
		first, err := ask("Password for " + name + ": ")
		if err != nil {
			return "", &exitError{code: exitFail, msg: "reading the password: " + err.Error()}
		}
		again, err := ask("Again: ")
		if err != nil {
			return "", &exitError{code: exitFail, msg: "reading the password: " + err.Error()}
		}
		if first != again {
			return "", &exitError{code: exitFail, msg: "the passwords differ; nothing changed"}
		}
		pw = first
	} else {
		line, err := bufio.NewReader(in).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", &exitError{code: exitFail, msg: "reading the password from standard input: " + err.Error()}
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	switch n := utf8.RuneCountInString(pw); {
	case n == 0:
		return "", &exitError{code: exitFail, msg: "no password on standard input: write it as one line, such as printf '%s\\n' \"$PASSWORD\" | callflow users set-password " + name}
	case n < minPassword:
		return "", &exitError{code: exitFail, msg: fmt.Sprintf("the password is %d characters; it must be at least %d", n, minPassword)}
	}
	return pw, nil
}
