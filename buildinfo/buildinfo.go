// Package buildinfo says which admit this is: its version and the commit it
// was built from.
//
// A release build sets them with the linker:
//
//	go build -ldflags "-X github.com/admitdev/admit/buildinfo.version=1.2.0 -X github.com/admitdev/admit/buildinfo.commit=$(git rev-parse HEAD)" ./cmd/admit
//
// Otherwise they come from what the Go toolchain stamps into the binary: the
// module's version (for go install ...@version) and the VCS revision of a
// build in a git checkout ("-dirty" when it had uncommitted changes).
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"sync"
)

// Set by the linker (-X); empty: read from the build information.
var (
	version string
	commit  string
)

// Info is what a binary knows of its build.
type Info struct {
	Version string `json:"version"` // "devel" when unknown
	Commit  string `json:"commit"`  // "unknown" when unknown
	Go      string `json:"go"`
}

var (
	once sync.Once
	info Info
)

// Get returns the binary's build information.
func Get() Info {
	once.Do(func() {
		info = Info{Version: version, Commit: commit, Go: runtime.Version()}
		if bi, ok := debug.ReadBuildInfo(); ok {
			if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
				info.Version = bi.Main.Version
			}
			if info.Commit == "" {
				var rev string
				dirty := false
				for _, s := range bi.Settings {
					switch s.Key {
					case "vcs.revision":
						rev = s.Value
					case "vcs.modified":
						dirty = s.Value == "true"
					}
				}
				if rev != "" && dirty {
					rev += "-dirty"
				}
				info.Commit = rev
			}
		}
		if info.Version == "" {
			info.Version = "devel"
		}
		if info.Commit == "" {
			info.Commit = "unknown"
		}
	})
	return info
}
