package sqlstore

import (
	"os"
	"syscall"
)

// syncData makes f's data durable with fdatasync(2): unlike fsync it does
// not also write the inode when only its times changed (the WAL is written
// inside its old size once a checkpoint has reset it), which is one I/O
// less, and the slowest of a sync's. A change of size is still synced:
// fdatasync writes the metadata the data needs to be read back.
func syncData(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			serr = syscall.Fdatasync(int(fd))
			if serr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	if serr != nil {
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: serr}
	}
	return nil
}
