//go:build !windows

package winpath

type system struct{}

// System is the current user's HKCU\Environment; on other systems every
// call fails with ErrUnsupported.
func System() Registry { return system{} }

func (system) Read() (Value, error)   { return Value{}, ErrUnsupported }
func (system) Write(Value) error      { return ErrUnsupported }
func (system) Expand(s string) string { return s }
