//go:build !linux

package sqlstore

import "os"

// syncData makes f's data durable (fsync; see datasync_linux.go).
func syncData(f *os.File) error { return f.Sync() }
