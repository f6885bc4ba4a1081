// Helpers of the multi-node tests: admit serve processes (launch, wait,
// stop), the CLI, and HTTP requests to the nodes.

package main_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// node is one running `admit serve` process.
type node struct {
	name string
	URL  string
	cmd  *exec.Cmd
	log  *lockedWriter
	buf  *bytes.Buffer
}

func (n *node) logs() string {
	n.log.mu.Lock()
	defer n.log.mu.Unlock()
	return n.buf.String()
}

// launch starts `admit serve` on a free loopback port. It does not wait.
func launch(name, db string) (*node, io.Reader, error) {
	cmd := exec.Command(admitBin, "serve", "--listen", "127.0.0.1:0", "--db", db, "--public-url", lbURL)
	cmd.Env = append(os.Environ(), "ADMIT_DB=", "ADMIT_PUBLIC_URL=", "ADMIT_LOG_LEVEL=warn")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	buf := &bytes.Buffer{}
	n := &node{name: name, cmd: cmd, buf: buf, log: &lockedWriter{w: buf}}
	cmd.Stderr = n.log
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	return n, stdout, nil
}

// waitReady reads the node's listening line and checks /healthz.
func (n *node) waitReady(stdout io.Reader, timeout time.Duration) error {
	type hello struct {
		Listening string
		PublicURL string `json:"public_url"`
	}
	type result struct {
		h   hello
		err error
	}
	ch := make(chan result, 1)
	go func() {
		// The first JSON value on stdout names the address.
		var r result
		r.err = json.NewDecoder(stdout).Decode(&r.h)
		ch <- r
		io.Copy(io.Discard, stdout)
	}()
	var r result
	select {
	case r = <-ch:
	case <-time.After(timeout):
		return fmt.Errorf("node %s: not listening after %v; log:\n%s", n.name, timeout, n.logs())
	}
	if r.err != nil || r.h.Listening == "" {
		return fmt.Errorf("node %s: no listening address on stdout (%v); log:\n%s", n.name, r.err, n.logs())
	}
	if r.h.PublicURL != lbURL {
		return fmt.Errorf("node %s: public_url %q, want %q", n.name, r.h.PublicURL, lbURL)
	}
	n.URL = r.h.Listening
	resp, err := http.Get(n.URL + "/healthz")
	if err != nil {
		return fmt.Errorf("node %s: healthz: %v", n.name, err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("node %s: healthz: %d", n.name, resp.StatusCode)
	}
	return nil
}

func (n *node) stop() {
	if n.cmd.ProcessState == nil {
		n.cmd.Process.Kill()
		n.cmd.Wait()
	}
}

// cli runs an admit command without touching t (safe in any goroutine) and
// decodes its JSON output into v.
func cli(v any, stdin string, args ...string) error {
	cmd := exec.Command(admitBin, args...)
	cmd.Env = append(os.Environ(), "ADMIT_DB=", "ADMIT_PUBLIC_URL=")
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("admit %s: %v: %s", strings.Join(args[:min(2, len(args))], " "), err, errb.String())
	}
	if err := json.Unmarshal(out.Bytes(), v); err != nil {
		return fmt.Errorf("admit %v: output is not JSON: %v\n%s", args, err, out.String())
	}
	return nil
}

// answer is an HTTP response, read whole.
type answer struct {
	status int
	body   []byte
}

func (a answer) obj() map[string]any {
	var m map[string]any
	json.Unmarshal(a.body, &m)
	return m
}

func (a answer) String() string { return fmt.Sprintf("%d %s", a.status, bytes.TrimSpace(a.body)) }

// send makes one request without touching t (safe in any goroutine). body
// is sent as JSON unless it is url.Values (a form). headers alternate name,
// value.
func send(client *http.Client, method, u string, body any, headers ...string) (answer, error) {
	var r io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case url.Values:
		r, ctype = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return answer{}, err
		}
		r, ctype = bytes.NewReader(j), "application/json"
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		return answer{}, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	return answer{resp.StatusCode, raw}, nil
}

// must is send for the test's own goroutine.
func must(t *testing.T, method, u string, body any, headers ...string) answer {
	t.Helper()
	a, err := send(http.DefaultClient, method, u, body, headers...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	return a
}

// together runs f(0..n-1) in n goroutines released at the same instant and
// returns their answers; a transport error fails the test.
func together(t *testing.T, n int, f func(i int) (answer, error)) []answer {
	t.Helper()
	out := make([]answer, n)
	errs := make([]error, n)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			out[i], errs[i] = f(i)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return out
}

func apiKey(key string) []string { return []string{"Authorization", "Api-Key " + key} }

func ticketingHeaders(key string) []string {
	return []string{"X-API-Key", key, "X-Client-Version", "3.0.0"}
}
