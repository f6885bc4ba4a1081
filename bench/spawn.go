package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/admitdev/admit"
)

// proc is a child `admit serve` process.
type proc struct {
	cmd     *exec.Cmd
	url     string
	ready   time.Duration
	rssInit int64 // kB at ready
	mu      sync.Mutex
	rssPeak int64 // kB, sampled
	hwm     int64 // kB, VmHWM read at stop
	waited  chan struct{}
}

// spawnNodes starts cfg.Nodes child servers on cfg.DB and waits until each
// answers /healthz.
func spawnNodes(ctx context.Context, cfg *Config, rep *Report) ([]*proc, error) {
	var procs []*proc
	for range cfg.Nodes {
		p, err := spawn(ctx, cfg)
		if err != nil {
			for _, q := range procs {
				q.stop()
			}
			return nil, err
		}
		cfg.progress("server %s ready in %s (RSS %.1f MB)", p.url, p.ready.Round(time.Millisecond), float64(p.rssInit)/1024)
		procs = append(procs, p)
	}
	return procs, nil
}

func spawn(ctx context.Context, cfg *Config) (*proc, error) {
	args := append(append([]string{}, cfg.Spawn[1:]...), "serve", "--listen", "127.0.0.1:0", "--db", cfg.DB)
	cmd := exec.Command(cfg.Spawn[0], args...)
	cmd.Env = append(os.Environ(), "ADMIT_PUBLIC_URL=")
	if os.Getenv("ADMIT_LOG_LEVEL") == "" {
		cmd.Env = append(cmd.Env, "ADMIT_LOG_LEVEL=warn")
	}
	if cfg.Progress != nil {
		cmd.Stderr = cfg.Progress
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start server: %w", err)
	}
	p := &proc{cmd: cmd, waited: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(p.waited)
	}()
	fail := func(err error) (*proc, error) {
		p.stop()
		return nil, err
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return fail(fmt.Errorf("server did not print its address: %w", err))
	}
	go io.Copy(io.Discard, stdout)
	var hello struct{ Listening string }
	if err := json.Unmarshal([]byte(line), &hello); err != nil || hello.Listening == "" {
		return fail(fmt.Errorf("server's first line is not its address: %q", line))
	}
	p.url = hello.Listening
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := client.Get(p.url + "/healthz")
		if err == nil {
			drain(resp.Body)
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			return fail(admit.Errorf(admit.EInternal, "server not ready after 60 s"))
		}
		select {
		case <-ctx.Done():
			return fail(ctx.Err())
		case <-p.waited:
			return fail(fmt.Errorf("server exited before it was ready"))
		case <-time.After(2 * time.Millisecond):
		}
	}
	p.ready = time.Since(start)
	p.rssInit = procStatusKB(procPath(cmd.Process.Pid, "status"), "VmRSS")
	p.rssPeak = p.rssInit
	return p, nil
}

func (p *proc) sampleRSS() {
	kb := procStatusKB(procPath(p.cmd.Process.Pid, "status"), "VmRSS")
	p.mu.Lock()
	p.rssPeak = max(p.rssPeak, kb)
	p.mu.Unlock()
}

// stop reads the peak memory, then stops the server with SIGTERM (SIGKILL
// after 20 s).
func (p *proc) stop() {
	select {
	case <-p.waited:
		return
	default:
	}
	if st := procPath(p.cmd.Process.Pid, "status"); fileExists(st) {
		p.mu.Lock()
		p.hwm = procStatusKB(st, "VmHWM")
		p.mu.Unlock()
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.waited:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		<-p.waited
	}
}

func (p *proc) info() ServerInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	peak := max(p.rssPeak, p.hwm)
	return ServerInfo{
		URL: p.url, ReadySeconds: round(p.ready.Seconds(), 3),
		RSSAtReadyMB: round(float64(p.rssInit)/1024, 1), PeakRSSMB: round(float64(peak)/1024, 1),
	}
}

// SpawnArgs is the command that runs this very program, for Config.Spawn
// from the admit CLI.
func SpawnArgs() ([]string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return []string{exe}, nil
}
