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
	if l, ok := cs.Label(2); !ok || l != "two" {
		t.Errorf("Label(2) = %q, %v", l, ok)
	}
	if l, ok := cs.Label(4); ok || l != "" {
		t.Errorf("Label(4) = %q, %v; want none", l, ok)
	}
	if v, ok := cs.Value("three"); !ok || v != 3 {
		t.Errorf(`Value("three") = %d, %v`, v, ok)
	}
	if v, ok := cs.Value("four"); ok || v != 0 {
		t.Errorf(`Value("four") = %d, %v; want none`, v, ok)
	}
}
