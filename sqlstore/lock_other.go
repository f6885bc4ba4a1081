//go:build !unix

package sqlstore

import "os"

// Without flock(2), admit restore cannot tell a database file in use.

func lockShared(*os.File) error    { return nil }
func lockExclusive(*os.File) error { return nil }
