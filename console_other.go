//go:build !windows

package main

// attachConsole is needed on Windows only, where the window's binary has no
// console of its own (see console_windows.go).
func attachConsole([]string) {}
