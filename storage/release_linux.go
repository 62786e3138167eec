package storage

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// ReleaseMappedPages tells the kernel that the pages of the database file
// mapped into this process are not needed for now (madvise MADV_DONTNEED).
// bbolt reads through a read-only shared mapping, so after the keys have
// been loaded into memory the whole file stays resident in the process
// (tens of MB with 100,000 keys) although it is never read again; dropped
// pages are simply read back from the page cache when a transaction touches
// them. It changes no data and is safe while transactions run.
func (s *Store) ReleaseMappedPages() error {
	// Inside a read transaction, which keeps the mapping in place: a
	// Close (or a remap) waits for it to end, so the address stays valid.
	err := s.db.View(func(tx *bolt.Tx) error {
		info, size := s.db.Info(), tx.Size()
		if info.Data == 0 || size <= 0 {
			return nil
		}
		// info.Data is the mapping's address; passing it as a uintptr
		// to the system call keeps the Go pointer rules intact.
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, info.Data, uintptr(size), unix.MADV_DONTNEED); errno != 0 {
			return errno
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("release mapped pages: %w", err)
	}
	return nil
}
