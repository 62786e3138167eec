package widgets

import (
	"slices"
	"testing"
)

func TestChoices(t *testing.T) {
	cs := Choices[int]{{Value: 1, Label: "one"}, {Value: 2, Label: "two"}, {Value: 3, Label: "three"}}
	if got := cs.Labels(); !slices.Equal(got, []string{"one", "two", "three"}) {
		t.Errorf("Labels = %q", got)
	}
	if l := cs.Label(2, "none"); l != "two" {
		t.Errorf("Label(2) = %q", l)
	}
	if l := cs.Label(4, "none"); l != "none" {
		t.Errorf("Label(4) = %q; want the fallback", l)
	}
	if v, ok := cs.Value("three"); !ok || v != 3 {
		t.Errorf(`Value("three") = %d, %v`, v, ok)
	}
	if v, ok := cs.Value("four"); ok || v != 0 {
		t.Errorf(`Value("four") = %d, %v; want none`, v, ok)
	}
}
