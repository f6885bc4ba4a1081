package main

import (
	"database/sql"

	_ "modernc.org/sqlite" // registers "sqlite"
)

func init() {
	register(driverSpec{
		name: "modernc",
		desc: "modernc.org/sqlite v1.62.0 (pure Go, transpiled C)",
		open: func(dsn string) (*sql.DB, error) { return sql.Open("sqlite", dsn) },
	})
}
