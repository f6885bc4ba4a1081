package main_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
)

// pgCluster is a PostgreSQL cluster of a test's own (initdb, pg_ctl), on a
// free loopback port, for tests that stop the database under a running
// node: the shared server on 127.0.0.1:5432 is never touched.
type pgCluster struct {
	bin, dir, logFile string
	port              int
	asPostgres        bool // running as root: the server runs as the postgres user
}

// startCluster makes and starts a cluster, stopped and removed when the
// test ends. It skips the test when initdb is not installed.
func startCluster(t *testing.T) *pgCluster {
	t.Helper()
	bin := ""
	if p, err := exec.LookPath("initdb"); err == nil {
		bin = filepath.Dir(p)
	} else if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb"); len(m) > 0 {
		bin = filepath.Dir(m[len(m)-1])
	} else {
		t.Skip("initdb is not installed: this test needs a PostgreSQL cluster of its own to stop (it never stops the shared one)")
	}
	c := &pgCluster{bin: bin, asPostgres: os.Geteuid() == 0}
	// Under /tmp, not t.TempDir(): the postgres user must reach it.
	base, err := os.MkdirTemp("", "admit-pgcluster-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	c.dir, c.logFile = filepath.Join(base, "data"), filepath.Join(base, "postgres.log")
	if c.asPostgres {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skip("running as root without a postgres user: initdb refuses root")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(base, uid, gid); err != nil {
			t.Fatal(err)
		}
		os.Chmod(base, 0o700)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	if out, err := c.run("initdb", "-D", c.dir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	c.start(t)
	t.Cleanup(func() { c.run("pg_ctl", "stop", "-D", c.dir, "-m", "immediate", "-w") })
	return c
}

func (c *pgCluster) run(cmd string, args ...string) ([]byte, error) {
	path := filepath.Join(c.bin, cmd)
	var x *exec.Cmd
	if c.asPostgres {
		x = exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	} else {
		x = exec.Command(path, args...)
	}
	return x.CombinedOutput()
}

func (c *pgCluster) start(t *testing.T) {
	t.Helper()
	opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off", c.port)
	if out, err := c.run("pg_ctl", "start", "-D", c.dir, "-l", c.logFile, "-w", "-t", "60", "-o", opts); err != nil {
		log, _ := os.ReadFile(c.logFile)
		t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
}

func (c *pgCluster) stop(t *testing.T) {
	t.Helper()
	if out, err := c.run("pg_ctl", "stop", "-D", c.dir, "-m", "fast", "-w", "-t", "60"); err != nil {
		t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
}

// URL is the cluster's postgres database.
func (c *pgCluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}
