package widgets

// Choice is one option of a select: the value it stands for and its label.
type Choice[T comparable] struct {
	Value T
	Label string
}

// Choices are a select's options in the order it shows them, each a value
// with its label.
type Choices[T comparable] []Choice[T]

// Labels returns the labels in order, as widget.NewSelect takes them.
func (cs Choices[T]) Labels() []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Label
	}
	return out
}

// Label returns the label of v, or otherwise when v has none.
func (cs Choices[T]) Label(v T, otherwise string) string {
	for _, c := range cs {
		if c.Value == v {
			return c.Label
		}
	}
	return otherwise
}

// Value returns the value labelled label, and whether there is one.
func (cs Choices[T]) Value(label string) (T, bool) {
	for _, c := range cs {
		if c.Label == label {
			return c.Value, true
		}
	}
	var zero T
	return zero, false
}
