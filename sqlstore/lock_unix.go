//go:build unix

package sqlstore

import (
	"errors"
	"os"
	"syscall"

	"github.com/admitdev/admit"
)

// A process that has a SQLite database open holds a shared flock(2) on its
// file (a lock of its own: SQLite's are fcntl locks, apart from these on
// Linux); admit restore takes an exclusive one, so it never replaces a file
// in use.

func lockShared(f *os.File) error {
	if err := flock(f, syscall.LOCK_SH); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return admit.Errorf(admit.EConflict, "sqlstore: %s is being restored: try again when admit restore is done", f.Name())
		}
		return admit.WrapInternal(err, "lock the database file")
	}
	return nil
}

// lockExclusive takes the exclusive lock, EConflict if any process holds
// the file open through admit.
func lockExclusive(f *os.File) error {
	if err := flock(f, syscall.LOCK_EX); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return admit.Errorf(admit.EConflict, "%s is in use by a running admit (a server or another command): stop it first", f.Name())
		}
		return admit.WrapInternal(err, "lock the database file")
	}
	return nil
}

func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err != syscall.EINTR {
			return err
		}
	}
}
