package sim

import (
	"bufio"
	"errors"
	"net"
	"net/http"
)

// commitWriter holds an answer back until the journal has written every
// change made before it, so that an answer a client has seen is never lost,
// even if the process is killed right after. Changes are made under s.mu
// and put into the journal there; the first byte of the answer waits for
// them. When the write fails the client gets a 500 instead of the answer.
type commitWriter struct {
	http.ResponseWriter
	s      *Simulator
	r      *http.Request
	done   bool // the journal was written (or failed) for this answer
	failed bool
}

// commit writes the journal once per answer.
func (c *commitWriter) commit() {
	if c.done {
		return
	}
	c.done = true
	if err := c.s.j.flush(); err != nil {
		c.failed = true
		h := c.ResponseWriter.Header()
		for k := range h {
			delete(h, k)
		}
		writeProblem(c.ResponseWriter, c.r, domainErr(http.StatusInternalServerError, "", "Internal Server Error",
			"the simulator could not write its data directory; the change may be lost"))
	}
}

// WriteHeader sends the status once the journal is written.
func (c *commitWriter) WriteHeader(status int) {
	c.commit()
	if !c.failed {
		c.ResponseWriter.WriteHeader(status)
	}
}

// Write sends the body once the journal is written.
func (c *commitWriter) Write(b []byte) (int, error) {
	c.commit()
	if c.failed {
		return len(b), nil
	}
	return c.ResponseWriter.Write(b)
}

// Flush passes on to the connection.
func (c *commitWriter) Flush() {
	c.commit()
	if f, ok := c.ResponseWriter.(http.Flusher); ok && !c.failed {
		f.Flush()
	}
}

// Hijack writes the journal, then hands over the connection (a fault that
// drops the answer after the commit uses it).
func (c *commitWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	_ = c.s.j.flush()
	hj, ok := c.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("sim: the connection cannot be taken over")
	}
	return hj.Hijack()
}

// Unwrap lets http.ResponseController reach the connection.
func (c *commitWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// finish writes the journal for a handler that answered nothing, before
// the server sends its empty 200.
func (c *commitWriter) finish() {
	if !c.done {
		_ = c.s.j.flush()
	}
}
