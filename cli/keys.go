package cli

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keydesk/keydesk/core"
)

// newKeysCommand is `keydesk keys`: create, list, rename, roll, delete,
// verify and usage.
func newKeysCommand(env *Env, c *completer) *cobra.Command {
	return group("keys", "Create, list, rename, roll, delete and verify keys", "create, list, rename, roll, delete or verify",
		newKeysCreateCommand(env, c),
		newKeysListCommand(env),
		newKeysRenameCommand(env, c),
		newKeysRollCommand(env, c),
		newKeysDeleteCommand(env, c),
		newKeysVerifyCommand(env, c),
		newKeysUsageCommand(env, c),
	)
}

// inputErrors are the core errors that mean the request itself is wrong:
// the command line reports them with exit status 2.
var inputErrors = []error{
	core.ErrNameEmpty, core.ErrNameTooLong, core.ErrNameControl,
	core.ErrNoPermission, core.ErrMixedPermissions, core.ErrUnknownSection, core.ErrUnknownOperation, core.ErrBadAccess,
	core.ErrLifetimeTooShort, core.ErrLifetimeTooLong, core.ErrGlobalTooLong, core.ErrBadLifetime,
	core.ErrBadGrace,
}

// asInput turns a core input error into a usage error (exit 2); any other
// error is returned unchanged (exit 1).
func asInput(err error) error {
	if err == nil {
		return nil
	}
	for _, ie := range inputErrors {
		if errors.Is(err, ie) {
			return &UsageError{Msg: err.Error()}
		}
	}
	return err
}

// notFound is the usage error for an id that names no key.
func notFound(id string) error {
	return usagef("no key has the id %q (see keydesk keys list)", id)
}

// getKey returns the key with this id; an id that names no key is bad
// input (notFound).
func getKey(svc *core.Service, id string) (*core.Key, error) {
	k, err := svc.Get(id)
	if errors.Is(err, core.ErrNotFound) {
		return nil, notFound(id)
	}
	return k, err
}

// verifyMessage is one sentence saying why a key was allowed or denied,
// naming the key when it was found. It never contains the secret.
func verifyMessage(v core.Verification, what string, now time.Time) string {
	if v.Key == nil {
		return v.Reason.Explain()
	}
	k := v.Key
	switch v.Reason {
	case core.ReasonOK:
		if what == "this operation" {
			return "The key is valid."
		}
		return fmt.Sprintf("The key is valid and allows %s.", what)
	case core.ReasonExpired:
		return fmt.Sprintf("The key %q (%s) expired %s, on %s.", k.Name, k.ID, core.FormatRelative(k.ExpiresAt, now), localTime(k.ExpiresAt))
	case core.ReasonForbidden:
		return fmt.Sprintf("The key %q (%s) is valid but its scopes (%s) do not allow %s.", k.Name, k.ID, strings.Join(k.Scopes, " "), what)
	case core.ReasonTampered:
		return fmt.Sprintf("The stored record of key %q (%s) was altered, so it can no longer be used; delete it and create a new key.", k.Name, k.ID)
	}
	return v.Reason.Explain()
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
