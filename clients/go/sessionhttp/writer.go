package sessionhttp

import (
	"bufio"
	"errors"
	"net"
	"net/http"
)

// ErrCommitFailed is what the handler's writes return after the session's commit failed: the
// middleware has written the error response instead.
var ErrCommitFailed = errors.New("sessionhttp: the session could not be committed; an error response was sent")

// responseWriter runs beforeHeader once, just before the status line and headers go out (the
// first WriteHeader with a final status, Write, Flush or Hijack). If it fails it has written the
// error response itself, and the handler's output is dropped.
type responseWriter struct {
	http.ResponseWriter
	beforeHeader func() error
	started      bool
	failed       bool
}

func (w *responseWriter) start() bool {
	if !w.started {
		w.started = true
		w.failed = w.beforeHeader() != nil
	}
	return !w.failed
}

// WriteHeader commits first, except for informational (1xx) statuses, which precede the final
// header; 101 Switching Protocols is final.
func (w *responseWriter) WriteHeader(code int) {
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	if w.start() {
		w.ResponseWriter.WriteHeader(code)
	}
}

// Write commits first; after a failed commit it drops p and returns ErrCommitFailed.
func (w *responseWriter) Write(p []byte) (int, error) {
	if !w.start() {
		return 0, ErrCommitFailed
	}
	return w.ResponseWriter.Write(p)
}

// Flush implements http.Flusher (a no-op where the underlying writer cannot flush).
func (w *responseWriter) Flush() { _ = w.FlushError() }

// FlushError is what http.ResponseController.Flush calls.
func (w *responseWriter) FlushError() error {
	if !w.start() {
		return ErrCommitFailed
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack implements http.Hijacker: commits, then hands over the connection if the underlying
// writer can (http.ErrNotSupported otherwise).
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !w.start() {
		return nil, nil, ErrCommitFailed
	}
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap lets http.ResponseController reach the underlying writer (deadlines, full duplex).
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
