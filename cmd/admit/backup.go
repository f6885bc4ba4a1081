package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/admitdev/admit/metrics"
	"github.com/admitdev/admit/sqlstore"
)

const backupUsage = `usage: admit backup FILE [--db admit.db]
       (a consistent copy of a SQLite database, taken while a server uses it;
       FILE must not exist. PostgreSQL: pg_dump, see the README)`

// cmdBackup copies the SQLite database to a new file while servers may use
// it, without migrating it.
func cmdBackup(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags("backup", env)
	db := dbFlag(fs, env)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || strings.TrimSpace(pos[0]) == "" {
		return errUsage(backupUsage)
	}
	info, err := sqlstore.BackupSQLite(ctx, *db, pos[0])
	if err != nil {
		return err
	}
	return printJSON(env.stdout, map[string]any{"backup": info.Path, "bytes": info.Bytes, "seconds": info.Seconds, "from": *db})
}

const restoreUsage = `usage: admit restore FILE [--db admit.db]
       (makes the SQLite database --db a copy of the backup FILE; refused while
       a server or another admit command has --db open. The database replaced
       is kept beside it, renamed. PostgreSQL: pg_restore, see the README)`

func cmdRestore(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags("restore", env)
	db := dbFlag(fs, env)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || strings.TrimSpace(pos[0]) == "" {
		return errUsage(restoreUsage)
	}
	info, err := sqlstore.RestoreSQLite(ctx, pos[0], *db)
	if err != nil {
		return err
	}
	return printJSON(env.stdout, info)
}

// backupSchedule is serve's --backup-every, --backup-dir and --backup-keep.
type backupSchedule struct {
	every time.Duration // 0: no scheduled backups
	dir   string
	keep  int
}

// backupFlags adds the schedule's flags to fs; the returned function
// validates them once parsed, for the database db.
func backupFlags(fs *flag.FlagSet, env *cmdEnv) (func(db string) (backupSchedule, error), error) {
	var every time.Duration
	if v := env.getenv("ADMIT_BACKUP_EVERY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return nil, errUsage(fmt.Sprintf("ADMIT_BACKUP_EVERY: not a duration: %q", v))
		}
		every = d
	}
	keepDef := 24
	if v := env.getenv("ADMIT_BACKUP_KEEP"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, errUsage(fmt.Sprintf("ADMIT_BACKUP_KEEP: not a number: %q", v))
		}
		keepDef = n
	}
	everyF := fs.Duration("backup-every", every, "back the SQLite database up this often into --backup-dir, while serving (env ADMIT_BACKUP_EVERY; 0: never)")
	dirF := fs.String("backup-dir", env.getenv("ADMIT_BACKUP_DIR"), "directory of the scheduled backups (env ADMIT_BACKUP_DIR)")
	keepF := fs.Int("backup-keep", keepDef, "scheduled backups to keep: older ones are deleted (env ADMIT_BACKUP_KEEP)")
	return func(db string) (backupSchedule, error) {
		b := backupSchedule{every: *everyF, dir: *dirF, keep: *keepF}
		switch {
		case b.every == 0 && b.dir == "":
			return b, nil
		case b.every < 0:
			return b, errUsage("--backup-every must be positive")
		case b.every == 0:
			return b, errUsage("--backup-dir needs --backup-every")
		case b.every < time.Second:
			return b, errUsage("--backup-every must be at least 1s")
		case b.dir == "":
			return b, errUsage("--backup-every needs --backup-dir")
		case b.keep < 1:
			return b, errUsage("--backup-keep must be at least 1")
		case sqlstore.IsPostgres(db):
			return b, errUsage("--backup-every backs up a SQLite database; back PostgreSQL up with pg_dump (see the README)")
		}
		if err := os.MkdirAll(b.dir, 0o700); err != nil {
			return b, errUsage(fmt.Sprintf("--backup-dir: %v", err))
		}
		return b, nil
	}, nil
}

// Scheduled backups are named admit-<UTC time>.db: their names sort by age.
const (
	backupPrefix = "admit-"
	backupLayout = "20060102T150405.000Z"
	backupSuffix = ".db"
)

// run backs the store up every b.every until ctx ends, keeping the newest
// b.keep backups of the schedule in b.dir (it deletes no other file).
func (b backupSchedule) run(ctx context.Context, store *sqlstore.Store, m *metrics.Metrics, log *slog.Logger) {
	t := time.NewTicker(b.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		path := filepath.Join(b.dir, backupPrefix+time.Now().UTC().Format(backupLayout)+backupSuffix)
		info, err := store.Backup(ctx, path)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			log.Error("scheduled backup failed", "path", path, "err", err)
			m.BackupDone(err, 0)
			continue
		}
		m.BackupDone(nil, info.Duration)
		log.Info("backup", "path", info.Path, "bytes", info.Bytes, "duration", info.Duration)
		if err := b.prune(); err != nil {
			log.Warn("scheduled backups: deleting old ones", "err", err)
		}
	}
}

// prune deletes the schedule's backups but the newest b.keep.
func (b backupSchedule) prune() error {
	entries, err := os.ReadDir(b.dir)
	if err != nil {
		return err
	}
	var ours []string
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(name, backupPrefix) || !strings.HasSuffix(name, backupSuffix) {
			continue
		}
		if _, err := time.Parse(backupLayout, strings.TrimSuffix(strings.TrimPrefix(name, backupPrefix), backupSuffix)); err != nil {
			continue
		}
		ours = append(ours, name)
	}
	slices.Sort(ours)
	for len(ours) > b.keep {
		if err := os.Remove(filepath.Join(b.dir, ours[0])); err != nil {
			return err
		}
		ours = ours[1:]
	}
	return nil
}
