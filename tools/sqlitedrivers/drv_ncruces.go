//go:build !mattn

package main

import (
	"database/sql"

	// Registers "sqlite3". v0.37.0 translates SQLite's Wasm build to Go
	// (wasm2go): no embed import is needed any more (its embed package
	// is deprecated and only prints a warning).
	_ "github.com/ncruces/go-sqlite3/driver"
)

func init() {
	register(driverSpec{
		name: "ncruces",
		desc: "github.com/ncruces/go-sqlite3 v0.37.0 (pure Go, wasm2go)",
		open: func(dsn string) (*sql.DB, error) { return sql.Open("sqlite3", dsn) },
	})
}
