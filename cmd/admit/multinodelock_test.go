// Several nodes starting at once on one PostgreSQL database: the migration
// lock makes them wait for each other.

package main_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/pressly/goose/v3/lock"

	"github.com/admitdev/admit/admittest"
)

// Nodes that start together on a fresh database migrate it one at a time:
// each waits on the migration's advisory lock while another migrator holds
// it (here the test itself, standing in for a node in the middle of a
// migration), touches no schema meanwhile, and once the lock is free finds
// the work done or does it, and serves.
func TestNodesWaitForTheMigrationLock(t *testing.T) {
	const nodes = 2
	db := admittest.PostgresDSN(t)
	ctx := context.Background()
	pg, err := sql.Open("pgx", db)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	holder, err := pg.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	if _, err := holder.ExecContext(ctx, "SELECT pg_advisory_lock($1)", lock.DefaultLockID); err != nil {
		t.Fatal(err)
	}

	ns := make([]*node, nodes)
	ready := make(chan error, nodes)
	for i := range ns {
		n, stdout, err := launch(fmt.Sprint(i), db)
		if err != nil {
			t.Fatal(err)
		}
		ns[i] = n
		t.Cleanup(func() {
			n.stop()
			if t.Failed() {
				t.Logf("node %s log:\n%s", n.name, n.logs())
			}
		})
		go func() { ready <- n.waitReady(stdout, 60*time.Second) }()
	}

	// Wait until every node is polling the lock.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var waiting int
		err := pg.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND query LIKE '%pg_try_advisory_lock%'`).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting >= nodes {
			break
		}
		select {
		case err := <-ready:
			t.Fatalf("a node started while another migrator held the lock (%v)", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s, %d of %d nodes wait on the migration lock", waiting, nodes)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Meanwhile nobody migrated, and no node serves.
	var table sql.NullString
	if err := pg.QueryRowContext(ctx, "SELECT to_regclass('public.tickets')::text").Scan(&table); err != nil {
		t.Fatal(err)
	}
	if table.Valid {
		t.Fatalf("the schema was created while the lock was held")
	}
	select {
	case err := <-ready:
		t.Fatalf("a node started while another migrator held the lock (%v)", err)
	case <-time.After(300 * time.Millisecond):
	}

	if _, err := holder.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", lock.DefaultLockID); err != nil {
		t.Fatal(err)
	}
	for range nodes {
		if err := <-ready; err != nil {
			t.Fatal(err)
		}
	}
	// Every node works on the migrated schema.
	var imp multiImport
	if err := cli(&imp, fmt.Sprintf(multiEventJSON, "paid"), "import", "-", "--tickets", "--db", db); err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		var dev deviceOut
		if err := cli(&dev, "", "device", "create", "--db", db, "--organizer", "multiorga", "--name", "Gate "+n.name); err != nil {
			t.Fatal(err)
		}
		key := pair(t, &server{URL: n.URL}, dev)
		status, body := call(t, "POST", n.URL+"/scan/ticket/", key, map[string]string{"qrcode_data": imp.Tickets[tRace0].QRCodeData})
		if status != 200 || (body["success"] == true) != (n == ns[0]) {
			t.Errorf("scan on node %s: %d %v", n.name, status, body)
		}
	}
}
