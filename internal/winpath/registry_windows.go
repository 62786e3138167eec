//go:build windows

package winpath

import (
	"errors"
	"fmt"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

const (
	envKey   = "Environment"
	pathName = "Path"
)

// regSetValueExW writes raw bytes: the registry package's setters take a Go
// string, which would re-encode the text and always add one terminator.
var regSetValueExW = windows.NewLazySystemDLL("advapi32.dll").NewProc("RegSetValueExW")

type system struct{}

// System is the current user's HKCU\Environment.
func System() Registry { return system{} }

func (system) Read() (Value, error) {
	k, err := registry.OpenKey(registry.CURRENT_USER, envKey, registry.QUERY_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return Value{}, nil
	}
	if err != nil {
		return Value{}, fmt.Errorf("open HKCU\\%s: %w", envKey, err)
	}
	defer k.Close()
	// Ask the size first, then read that many bytes; a value that grew in
	// between is asked again (a few times at most).
	for range 4 {
		n, typ, err := k.GetValue(pathName, nil)
		if errors.Is(err, registry.ErrNotExist) {
			return Value{}, nil
		}
		if err != nil && !errors.Is(err, syscall.ERROR_MORE_DATA) {
			return Value{}, fmt.Errorf("read HKCU\\%s\\%s: %w", envKey, pathName, err)
		}
		if n > maxData {
			return Value{}, ErrTooLong
		}
		buf := make([]byte, n)
		m, typ2, err := k.GetValue(pathName, buf)
		if errors.Is(err, syscall.ERROR_MORE_DATA) || errors.Is(err, registry.ErrShortBuffer) {
			continue
		}
		if err != nil {
			return Value{}, fmt.Errorf("read HKCU\\%s\\%s: %w", envKey, pathName, err)
		}
		if typ2 != typ {
			continue
		}
		return Value{Exists: true, Type: typ2, Data: buf[:m]}, nil
	}
	return Value{}, ErrChanged
}

func (system) Write(v Value) error {
	k, _, err := registry.CreateKey(registry.CURRENT_USER, envKey, registry.QUERY_VALUE|registry.SET_VALUE)
	if err != nil {
		return fmt.Errorf("open HKCU\\%s: %w", envKey, err)
	}
	defer k.Close()
	if !v.Exists {
		if err := k.DeleteValue(pathName); err != nil {
			return fmt.Errorf("delete HKCU\\%s\\%s: %w", envKey, pathName, err)
		}
		return nil
	}
	name, err := syscall.UTF16PtrFromString(pathName)
	if err != nil {
		return err
	}
	var p *byte
	if len(v.Data) > 0 {
		p = &v.Data[0]
	}
	r, _, _ := regSetValueExW.Call(uintptr(k), uintptr(unsafe.Pointer(name)), 0, uintptr(v.Type), uintptr(unsafe.Pointer(p)), uintptr(len(v.Data)))
	if r != 0 {
		return fmt.Errorf("write HKCU\\%s\\%s: %w", envKey, pathName, syscall.Errno(r))
	}
	return nil
}

func (system) Expand(s string) string {
	if e, err := registry.ExpandString(s); err == nil {
		return e
	}
	return s
}
