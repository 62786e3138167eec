package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
)

func testSettings(t *testing.T, s core.Store) {
	st := ability[SettingsStore](t, s, "keeps no settings")
	if v, err := st.Setting("mail"); err != nil || v != nil {
		t.Fatalf("unset Setting = %q, %v; want nil, nil", v, err)
	}
	ev := core.AuditEvent{Time: T0, Actor: "tester", Action: core.ActionSettingsChanged}
	before := auditLen(t, s)
	if err := st.PutSetting("mail", []byte(`{"host":"smtp"}`), ev); err != nil {
		t.Fatal(err)
	}
	if err := st.PutSetting("other", []byte{0, 1, 2}, ev); err != nil {
		t.Fatal(err)
	}
	if v, err := st.Setting("mail"); err != nil || string(v) != `{"host":"smtp"}` {
		t.Fatalf("Setting = %q, %v", v, err)
	}
	if err := st.PutSetting("mail", []byte("v2"), ev); err != nil {
		t.Fatal(err)
	}
	if v, _ := st.Setting("mail"); string(v) != "v2" {
		t.Fatalf("Setting after overwrite = %q", v)
	}
	if err := st.PutSetting("mail", nil, ev); err != nil {
		t.Fatal(err)
	}
	if v, err := st.Setting("mail"); err != nil || v != nil {
		t.Fatalf("Setting after delete = %q, %v", v, err)
	}
	if v, _ := st.Setting("other"); !bytes.Equal(v, []byte{0, 1, 2}) {
		t.Fatalf("another setting = %v", v)
	}
	if n := auditLen(t, s); before >= 0 && n-before != 4 {
		t.Fatalf("4 setting changes wrote %d audit entries", n-before)
	}
}

func testDigestState(t *testing.T, s core.Store) {
	st := ability[DigestStateStore](t, s, "keeps no digest state")
	if got, err := st.LastDeliveredSlot(); err != nil || !got.IsZero() {
		t.Fatalf("LastDeliveredSlot of a new store = %v, %v", got, err)
	}
	ev := core.AuditEvent{Time: T0, Actor: "tester", Action: core.ActionDigestSent}
	before := auditLen(t, s)
	slot := T0.Add(24 * time.Hour)
	if err := st.MarkSlotDelivered(slot, ev); err != nil {
		t.Fatal(err)
	}
	if err := st.MarkSlotDelivered(slot.Add(-12*time.Hour), ev); err != nil {
		t.Fatal(err)
	}
	got, err := st.LastDeliveredSlot()
	if err != nil || !got.Equal(slot) {
		t.Fatalf("LastDeliveredSlot = %v, %v; want %v (an older slot does not move it back)", got, err, slot)
	}
	if n := auditLen(t, s); before >= 0 && n-before != 2 {
		t.Fatalf("2 deliveries wrote %d audit entries", n-before)
	}
}
