// Package testserver starts a real sessiond for tests: $SESSIOND_BIN on a free loopback port with
// the memory store, stopped by its pid when the test ends.
package testserver

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	sessiond "sessiond.dev/client/go"
)

// Server is a running sessiond.
type Server struct {
	Address string // 127.0.0.1:PORT
	cmd     *exec.Cmd
	exited  chan struct{}
	logFile string
}

// Start runs $SESSIOND_BIN with flags (plus --listen, --port_file, --store=memory and no drain
// grace) and stops it (SIGTERM, then SIGKILL after 5 s) when t ends, logging its output if t
// failed. It fails t if the server does not write its port within 10 s.
func Start(t testing.TB, flags ...string) *Server {
	t.Helper()
	binary := os.Getenv("SESSIOND_BIN")
	if binary == "" {
		t.Fatal("SESSIOND_BIN is not set: the path of the sessiond binary (clients/go/test.sh sets it)")
	}
	directory := t.TempDir()
	portFile := filepath.Join(directory, "port")
	logFile := filepath.Join(directory, "sessiond.log")
	args := append([]string{"--listen=127.0.0.1:0", "--port_file=" + portFile, "--store=memory",
		"--drain_grace=0s"}, flags...)
	cmd := exec.Command(binary, args...)
	log, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", binary, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if output, _ := os.ReadFile(logFile); t.Failed() {
			t.Logf("sessiond's output:\n%s", output)
		}
	})
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if port, err := os.ReadFile(portFile); err == nil && len(port) > 0 {
			return &Server{Address: "127.0.0.1:" + strings.TrimSpace(string(port)), cmd: cmd,
				exited: exited, logFile: logFile}
		}
		select {
		case <-exited:
			t.Fatalf("%s exited before writing its port", binary)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("%s wrote no port file within 10 s", binary)
	return nil
}

// Client returns a client of s with opts, closed when t ends.
func (s *Server) Client(t testing.TB, opts sessiond.Options) *sessiond.Client {
	t.Helper()
	client, err := sessiond.Dial(s.Address, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}

// Unreachable returns a client (without commit retries) of a sessiond that has stopped, and its
// address.
func Unreachable(t testing.TB) (*sessiond.Client, string) {
	t.Helper()
	server := Start(t)
	server.Stop()
	server.Wait()
	return server.Client(t, sessiond.Options{CommitAttempts: 1}), server.Address
}

// Stop sends the server SIGTERM now (the cleanup still waits for it).
func (s *Server) Stop() { _ = s.cmd.Process.Signal(syscall.SIGTERM) }

// Wait waits until the server has exited.
func (s *Server) Wait() { <-s.exited }

// CPU returns the CPU time (user and system) the server has used so far, from /proc/PID/stat in
// clock ticks of 10 ms.
func (s *Server) CPU(t testing.TB) time.Duration {
	t.Helper()
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	// The fields after the command's closing parenthesis start at the third (state); utime and
	// stime are the 14th and 15th.
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	ticks := 0
	for _, field := range fields[11:13] {
		n, err := strconv.Atoi(field)
		if err != nil {
			t.Fatal(err)
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

// Signal sends the server sig (for example SIGSTOP and SIGCONT to stall it).
func (s *Server) Signal(sig os.Signal) { _ = s.cmd.Process.Signal(sig) }

// RPCs returns how many rpcs of method (e.g. "Batch") the server counted, whatever their code, from
// its /metrics page. The server must have been started with --metrics_listen=127.0.0.1:0 (its
// startup line names the port).
func (s *Server) RPCs(t testing.TB, method string) int {
	t.Helper()
	return s.count(t, "sessiond_rpcs_total", method)
}

// Calls returns how many calls of method (e.g. "Get") the server finished, whatever their code:
// its own rpcs plus the operations of that method inside Batch rpcs. Like RPCs, it needs
// --metrics_listen.
func (s *Server) Calls(t testing.TB, method string) int {
	t.Helper()
	return s.count(t, "sessiond_rpcs_total", method) +
		s.count(t, "sessiond_batched_operations_total", method)
}

// count sums metric's samples labelled with method, from the /metrics page.
func (s *Server) count(t testing.TB, metric, method string) int {
	t.Helper()
	output, err := os.ReadFile(s.logFile)
	if err != nil {
		t.Fatal(err)
	}
	port := regexp.MustCompile(`metrics_port=(\d+)`).FindSubmatch(output)
	if port == nil {
		t.Fatal("sessiond names no metrics_port: start it with --metrics_listen=127.0.0.1:0")
	}
	response, err := http.Get("http://127.0.0.1:" + string(port[1]) + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer response.Body.Close()
	page, err := io.ReadAll(response.Body)
	if err != nil {
		t.Fatal(err)
	}
	sample := regexp.MustCompile(`(?m)^` + metric + `\{[^}]*method="/sessiond\.v1\.SessionService/` +
		regexp.QuoteMeta(method) + `"[^}]*\} (\d+)$`)
	total := 0
	for _, match := range sample.FindAllSubmatch(page, -1) {
		n, err := strconv.Atoi(string(match[1]))
		if err != nil {
			t.Fatal(err)
		}
		total += n
	}
	return total
}
