//go:build !linux

package progress

import "os"

// Elsewhere: a character device (a terminal, but also /dev/null).
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
