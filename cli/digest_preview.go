package cli

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/mail"
	"github.com/keydesk/keydesk/workspace"
)

const digestPreviewUsage = "keydesk digest preview [--slot RFC3339] [--json]   (default: the next slot; --slot T names the 11:00 UTC slot at or before T)"

// digestJSON is what `digest preview --json` prints.
type digestJSON struct {
	Slot      time.Time      `json:"slot"`
	Since     time.Time      `json:"since"`
	Until     time.Time      `json:"until"`
	Subject   string         `json:"subject"`
	MessageID string         `json:"messageId"`
	Empty     bool           `json:"empty"`
	Delivered bool           `json:"delivered"`
	Expired   []mail.KeyLine `json:"expired"`
	Expiring  []mail.KeyLine `json:"expiring"`
	Idle      []mail.KeyLine `json:"idle"`
	// Denied lists the keys with denied attempts in the 24 hours before
	// the slot (left out when there are none).
	Denied []deniedJSON `json:"denied,omitempty"`
}

// deniedJSON is a key with denied attempts in `digest preview --json`.
type deniedJSON struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Hint   string `json:"hint"`
	Denied uint64 `json:"denied"`
}

// newDigestPreviewCommand is `keydesk digest preview`.
func newDigestPreviewCommand(env *Env) *cobra.Command {
	var slot string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "preview [--slot RFC3339] [--json]",
		Short: "Show the digest of a slot without sending it",
		Long: "Show what the digest of a slot lists: the keys that expired in the 24 hours before it (or since\n" +
			"the last delivered digest, or before the first one since e-mail was set up), the keys that\n" +
			"expire within 7 days after it, and the keys that became idle (unused for 90 days) in the same\n" +
			"window as the expired ones. The default is the next 11:00 UTC slot; --slot T names the slot at\n" +
			"or before T.",
		Args:              noArgs(digestPreviewUsage),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(*cobra.Command, []string) error {
			return runDigestPreview(env, slot, asJSON)
		},
	}
	cmd.Flags().StringVar(&slot, "slot", "", "the 11:00 UTC slot at or before this RFC 3339 time (default: the next slot)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	_ = cmd.RegisterFlagCompletionFunc("slot", cobra.NoFileCompletions)
	return cmd
}

func runDigestPreview(env *Env, slotFlag string, asJSON bool) error {
	var at time.Time
	if slotFlag != "" {
		t, err := time.Parse(time.RFC3339, slotFlag)
		if err != nil {
			return usagef("--slot must be an RFC 3339 time such as 2026-11-27T11:00:00Z")
		}
		at = t
	}
	return withWorkspace(env, func(b *workspace.Workspace) error {
		now := b.Clock().Now()
		slot := core.NextSlot(now)
		if !at.IsZero() {
			slot = core.SlotAtOrBefore(at)
		}
		last, err := b.MailStore().LastDeliveredSlot()
		if err != nil {
			return err
		}
		since, err := mail.CatchUpSince(last, b.MailStore())
		if err != nil {
			return err
		}
		d, err := b.Service().SelectDigest(slot, since)
		if err != nil {
			return err
		}
		if d.Denied, err = workspace.DeniedSelector(b.UsageStore(), b.Service())(slot); err != nil {
			return err
		}
		delivered := !last.IsZero() && !slot.After(last)
		if asJSON {
			var denied []deniedJSON
			for _, k := range d.Denied {
				denied = append(denied, deniedJSON{ID: k.Key.ID, Name: k.Key.Name, Hint: k.Key.Hint, Denied: k.Denied})
			}
			return writeJSON(env.Stdout, digestJSON{
				Slot: d.Slot, Since: d.Since.UTC(), Until: d.Slot.Add(core.DigestLookahead), Subject: d.Subject(),
				MessageID: mail.DigestMessageID(b.MailStore().StoreID(), d.Slot), Empty: d.Empty(), Delivered: delivered,
				Expired: mail.Lines(d.Expired), Expiring: mail.Lines(d.Expiring), Idle: mail.Lines(d.Idle), Denied: denied,
			})
		}
		return printDigest(env.Stdout, d, now, delivered)
	})
}

// printDigest prints a digest preview for people.
func printDigest(w io.Writer, d core.Digest, now time.Time, delivered bool) error {
	state := "not delivered yet"
	switch {
	case delivered:
		state = "already delivered"
	case d.Slot.After(now):
		state = "the next slot"
	}
	fmt.Fprintf(w, "Digest for %s (%s)\n", d.Slot.Format(mail.SlotLayout), state)
	fmt.Fprintf(w, "Subject: %s\n", d.Subject())
	section := func(title string, keys []*core.Key, expiryTitle string) {
		fmt.Fprintf(w, "\n%s (%d):\n", title, len(keys))
		if len(keys) == 0 {
			fmt.Fprintln(w, "  none")
			return
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "  NAME\tHINT\t%s\tSCOPES\tID\n", expiryTitle)
		for _, l := range mail.Lines(keys) {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%s\n", l.Name, l.Hint, l.Expiry(), l.Scopes, l.ID)
		}
		tw.Flush()
	}
	section(fmt.Sprintf("Expired between %s and %s", d.Since.UTC().Format(mail.SlotLayout), d.Slot.Format(mail.SlotLayout)),
		d.Expired, "EXPIRED (UTC)")
	section(fmt.Sprintf("Expiring between %s and %s", d.Slot.Format(mail.SlotLayout), d.Slot.Add(core.DigestLookahead).Format(mail.SlotLayout)),
		d.Expiring, "EXPIRES (UTC)")
	fmt.Fprintf(w, "\nBecame idle between %s and %s (%d):\n", d.Since.UTC().Format(mail.SlotLayout), d.Slot.Format(mail.SlotLayout), len(d.Idle))
	if len(d.Idle) == 0 {
		fmt.Fprintln(w, "  none")
	} else {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  NAME\tHINT\tLAST USE (UTC)\tID")
		for _, l := range mail.Lines(d.Idle) {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", l.Name, l.Hint, l.LastUse(), l.ID)
		}
		tw.Flush()
	}
	if len(d.Denied) > 0 {
		fmt.Fprintf(w, "\nDenied attempts since %s (%d):\n", core.UsageDay(d.Slot.Add(-24*time.Hour)).Format(mail.SlotLayout), len(d.Denied))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  NAME\tHINT\tDENIED\tID")
		for _, k := range d.Denied {
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\n", k.Key.Name, k.Key.Hint, k.Denied, k.Key.ID)
		}
		tw.Flush()
	}
	if d.Empty() {
		fmt.Fprintln(w, "\nNothing would be sent: all three lists are empty.")
	}
	return nil
}
