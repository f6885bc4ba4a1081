package main

import (
	"database/sql"
	"sort"
)

// A driver under test. Each one registers itself from a file of its own:
// the cgo driver (mattn) only with the build tag mattn, because it and
// ncruces's driver both register the database/sql name "sqlite3", and a
// binary can hold only one of them.
type driverSpec struct {
	name string // short name, as -driver takes it
	desc string // module and version, for the table
	open func(dsn string) (*sql.DB, error)
}

var drivers = map[string]driverSpec{}

func register(d driverSpec) { drivers[d.name] = d }

// driverOrder lists the registered drivers, modernc first (admit's own).
func driverOrder() []string {
	var names []string
	for n := range drivers {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if (names[i] == "modernc") != (names[j] == "modernc") {
			return names[i] == "modernc"
		}
		return names[i] < names[j]
	})
	return names
}
