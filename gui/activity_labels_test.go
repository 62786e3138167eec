package gui

import (
	"testing"

	"github.com/keydesk/keydesk/core"
)

// Every audit action Keydesk records has a label in the Activity view and
// a choice in its action filter: none shows as its raw id ("key.roll").
func TestEveryAuditActionHasALabel(t *testing.T) {
	seen := map[string]core.AuditAction{}
	for _, a := range core.AuditActions {
		label := actionLabel(a)
		if label == string(a) || label == "" {
			t.Errorf("action %q has no label", a)
		}
		if other, ok := seen[label]; ok {
			t.Errorf("actions %q and %q share the label %q", other, a, label)
		}
		seen[label] = a
	}
	if len(activityActions) != len(core.AuditActions) {
		t.Errorf("the filter offers %d actions, Keydesk records %d", len(activityActions), len(core.AuditActions))
	}
}
