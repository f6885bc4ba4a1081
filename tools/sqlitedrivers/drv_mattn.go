//go:build mattn

package main

import (
	"database/sql"

	// Registers "sqlite3"; needs cgo and a C compiler. Without cgo the
	// package still builds, and every open fails.
	_ "github.com/mattn/go-sqlite3"
)

func init() {
	register(driverSpec{
		name: "mattn",
		desc: "github.com/mattn/go-sqlite3 v1.14.53 (cgo)",
		open: func(dsn string) (*sql.DB, error) { return sql.Open("sqlite3", dsn) },
	})
}
