package clocktest

import (
	"testing"
	"time"
)

func TestClockMovesOnlyWhenTold(t *testing.T) {
	start := time.Date(2026, 11, 30, 11, 0, 0, 0, time.UTC)
	c := New(start)
	if got := c.Now(); !got.Equal(start) {
		t.Fatalf("Now = %v, want %v", got, start)
	}
	if got := c.Add(90 * time.Minute); !got.Equal(start.Add(90*time.Minute)) || !c.Now().Equal(got) {
		t.Fatalf("Add: %v, Now %v", got, c.Now())
	}
	c.Set(start)
	if !c.Now().Equal(start) {
		t.Fatalf("Set: Now = %v", c.Now())
	}
}
