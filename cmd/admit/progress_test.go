package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/admitdev/admit/bench"
)

// openPTY opens a pseudo-terminal: what the child writes to tty, the test
// reads from the returned function once the child is done.
func openPTY(t *testing.T) (tty *os.File, read func() string) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("pseudo-terminals are opened the Linux way here")
	}
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	t.Cleanup(func() { ptmx.Close() })
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		io.Copy(&out, ptmx) // ends with EIO once no process holds the terminal
	}()
	return tty, func() string {
		tty.Close()
		<-done
		return out.String()
	}
}

// runWithStderr runs the admit binary with stderr on w and returns its
// stdout.
func runWithStderr(t *testing.T, w *os.File, args ...string) string {
	t.Helper()
	cmd := exec.Command(admitBin, args...)
	cmd.Env = append(os.Environ(), "ADMIT_DB=", "ADMIT_PUBLIC_URL=")
	cmd.Stderr = w
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("admit %v: %v", args, err)
	}
	return string(out)
}

// admit import draws a bar on a terminal, and nothing on stderr otherwise;
// stdout is the same JSON either way.
func TestImportShowsProgressOnATerminalOnly(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "event.json")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	const n = 10_000
	if err := bench.WriteImportJSON(f, n, "progress"); err != nil {
		t.Fatal(err)
	}
	f.Close()

	tty, read := openPTY(t)
	out := runWithStderr(t, tty, "import", file, "--db", filepath.Join(dir, "a.db"))
	drawn := strings.ReplaceAll(read(), "\r\n", "\n") // the terminal's own line ends
	var counts struct{ Counts struct{ Tickets int } }
	if err := json.Unmarshal([]byte(out), &counts); err != nil || counts.Counts.Tickets != n {
		t.Fatalf("stdout on a terminal's run: %v %s", err, out)
	}
	last := drawn[strings.LastIndex(drawn, "\r")+1:]
	if !strings.Contains(drawn, "\rimport  [") || !strings.Contains(last, "100%") || !strings.Contains(last, "10,000 tickets") || !strings.HasSuffix(last, "\n") {
		t.Fatalf("the terminal shows %q; want a bar ending at 100%% and 10,000 tickets, its line ended", drawn)
	}

	errFile, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer errFile.Close()
	out2 := runWithStderr(t, errFile, "import", file, "--db", filepath.Join(dir, "b.db"))
	if fi, _ := errFile.Stat(); fi.Size() != 0 {
		b, _ := os.ReadFile(errFile.Name())
		t.Fatalf("stderr off a terminal: %q", b)
	}
	var counts2 struct{ Counts struct{ Tickets int } }
	if err := json.Unmarshal([]byte(out2), &counts2); err != nil || counts2 != counts {
		t.Fatalf("stdout off a terminal: %v %s", err, out2)
	}
}

// admit bench draws a bar per phase on a terminal; off one, only its
// progress lines.
func TestBenchShowsProgressOnATerminalOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a short benchmark")
	}
	args := []string{"bench", "--tickets", "300", "--duration", "500ms", "--warmup", "0s", "--concurrency", "2", "--max-scans", "150"}
	tty, read := openPTY(t)
	runWithStderr(t, tty, args...)
	drawn := read()
	if !strings.Contains(drawn, "\rdurable  [") || !strings.Contains(drawn, " scans") {
		t.Fatalf("the terminal shows %q; want a bar for the durable phase", drawn)
	}
	errFile, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer errFile.Close()
	runWithStderr(t, errFile, args...)
	b, _ := os.ReadFile(errFile.Name())
	if bytes.Contains(b, []byte("\r")) || !bytes.Contains(b, []byte("bench: durable phase")) {
		t.Fatalf("stderr off a terminal: %q", b)
	}
}
