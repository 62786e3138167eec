//go:build !linux

package storage

// ReleaseMappedPages does nothing on this OS; see the Linux version.
func (s *Store) ReleaseMappedPages() error { return nil }
