// Package pgproxy is a TCP proxy for PostgreSQL's wire protocol, for
// tests: it stands between a client and a server on loopback, passes
// everything through unchanged, and loses the answer of a share of the
// COMMITs it sees. Such a COMMIT reaches the server and is applied; the
// proxy waits for the server's answer (CommandComplete and ReadyForQuery),
// drops it, and closes both connections. The client sees a broken
// connection and cannot tell whether its transaction happened: the case a
// network fault, a crashed pooler or a killed server produce in production,
// made reproducible with a seeded random source.
//
// The proxy reads the frontend's messages (the untyped startup packet,
// then messages of one type byte and an int32 length) and recognises a
// COMMIT in both protocols:
//
//   - simple Query ('Q') whose whole text is COMMIT (or END), in any case,
//     optionally followed by WORK or TRANSACTION and by a semicolon — what
//     pgx v5 sends for Tx.Commit;
//   - the extended protocol: a statement parsed ('P') from such a text,
//     bound ('B') to a portal and executed ('E'); the answer lost is that
//     of the Sync ('S') that ends the batch.
//
// A COMMIT inside a multi-statement simple query ("INSERT …; COMMIT") is not
// recognised, and neither is the implicit commit of a statement run outside
// a transaction.
//
// A cut can also start a blackout (see BlackoutAfterCuts): every
// connection is closed and new ones are closed at once for a while, so the
// client cannot even ask the server whether its COMMIT was applied.
//
// An SSLRequest or GSSENCRequest is refused with 'N' by the proxy itself,
// so a client with sslmode=prefer goes on in plain text; use sslmode=disable
// to skip the round trip. The proxy holds no TLS and no credentials:
// authentication messages pass through like any others.
package pgproxy

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Proxy.
type Options struct {
	// Target is the server's address, host:port.
	Target string
	// CutRate is the share of COMMITs whose answer is lost, from 0 (none)
	// to 1 (every one). It can be changed later with SetCutRate.
	CutRate float64
	// Seed seeds the random source that picks the COMMITs to cut, so a run
	// can be repeated (as far as the order of COMMITs repeats).
	Seed uint64
}

// Stats counts the COMMITs the proxy has seen.
type Stats struct {
	// Cut is how many COMMITs reached the server with their answer lost.
	Cut int64
	// Passed is how many COMMITs were passed through with their answer.
	Passed int64
	// Blackouts is how many cuts started a blackout.
	Blackouts int64
}

// Proxy is a running proxy. Its methods are safe for concurrent use.
type Proxy struct {
	ln     net.Listener
	target string

	mu        sync.Mutex
	rng       *rand.Rand
	rate      float64
	armed     int           // cuts still to start a blackout
	blackout  time.Duration // how long each lasts
	darkUntil time.Time
	conns     map[net.Conn]struct{}
	closed    bool
	cut       atomic.Int64
	passed    atomic.Int64
	blackouts atomic.Int64
	running   sync.WaitGroup
}

// Start listens on a free loopback port and proxies each connection to
// opts.Target.
func Start(opts Options) (*Proxy, error) {
	if opts.Target == "" {
		return nil, errors.New("pgproxy: no target address")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("pgproxy: %w", err)
	}
	p := &Proxy{
		ln:     ln,
		target: opts.Target,
		rng:    rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		conns:  map[net.Conn]struct{}{},
	}
	p.SetCutRate(opts.CutRate)
	p.running.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the proxy's address, host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// DSN returns a PostgreSQL URL (postgres://…) with its host and port
// replaced by the proxy's, so a client connects through the proxy with
// everything else (user, database, parameters) kept.
func (p *Proxy) DSN(dsn string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", errors.New("pgproxy: the DSN must be a postgres:// URL")
	}
	u.Host = p.Addr()
	return u.String(), nil
}

// SetCutRate changes the share of COMMITs whose answer is lost, from 0 to
// 1, for the COMMITs seen from now on.
func (p *Proxy) SetCutRate(rate float64) {
	p.mu.Lock()
	p.rate = min(max(rate, 0), 1)
	p.mu.Unlock()
}

// BlackoutAfterCuts makes each of the next n COMMITs that are cut start a
// blackout of d once its answer has been dropped: every connection open
// through the proxy is closed, and new ones are accepted and closed at once
// until d has passed. The server is untouched and keeps what it applied;
// the client can neither hear nor ask.
func (p *Proxy) BlackoutAfterCuts(n int, d time.Duration) {
	p.mu.Lock()
	p.armed, p.blackout = n, d
	p.mu.Unlock()
}

// Stats returns the counts so far.
func (p *Proxy) Stats() Stats {
	return Stats{Cut: p.cut.Load(), Passed: p.passed.Load(), Blackouts: p.blackouts.Load()}
}

// Close stops listening, closes every connection and waits for the
// proxy's goroutines to end.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	err := p.ln.Close()
	p.running.Wait()
	return err
}

// What becomes of a COMMIT's answer.
type fate uint8

const (
	pass     fate = iota // forwarded
	cut                  // dropped, both connections closed
	cutBlack             // dropped, and a blackout starts
)

// decide picks what becomes of the next COMMIT's answer.
func (p *Proxy) decide() fate {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rate == 0 || p.rng.Float64() >= p.rate {
		p.passed.Add(1)
		return pass
	}
	p.cut.Add(1)
	if p.armed > 0 {
		p.armed--
		return cutBlack
	}
	return cut
}

// goDark starts a blackout: every connection is closed, and new ones are
// refused until it ends.
func (p *Proxy) goDark() {
	p.mu.Lock()
	p.blackouts.Add(1)
	p.darkUntil = time.Now().Add(p.blackout)
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
}

// track registers a connection to close on Close; it reports false (and
// closes c) once the proxy is closed, and during a blackout.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || time.Now().Before(p.darkUntil) {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *Proxy) accept() {
	defer p.running.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(client) {
			continue
		}
		p.running.Add(1)
		go func() {
			defer p.running.Done()
			defer p.untrack(client)
			server, err := net.Dial("tcp", p.target)
			if err != nil {
				return
			}
			if !p.track(server) {
				return
			}
			defer p.untrack(server)
			newSession(p, client, server).run()
		}()
	}
}

// A session is one client connection and its server connection.
type session struct {
	p              *Proxy
	client, server net.Conn

	// answers are the exchanges the server has still to answer, oldest
	// first: each simple Query, Sync and FunctionCall gets exactly one
	// ReadyForQuery, and so does the startup. The frontend appends before
	// it forwards; the backend pops at each ReadyForQuery.
	mu      sync.Mutex
	answers []fate
}

func newSession(p *Proxy, client, server net.Conn) *session {
	return &session{p: p, client: client, server: server, answers: []fate{pass}}
}

func (s *session) run() {
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.backend()
	}()
	s.frontend()
	<-done
}

// expect queues the answer of an exchange about to be forwarded.
func (s *session) expect(f fate) {
	s.mu.Lock()
	s.answers = append(s.answers, f)
	s.mu.Unlock()
}

// current tells what becomes of the answer being received.
func (s *session) current() fate {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.answers) == 0 {
		return pass
	}
	return s.answers[0]
}

// answered pops the exchange a ReadyForQuery ended.
func (s *session) answered() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.answers) > 0 {
		s.answers = s.answers[1:]
	}
}

func (s *session) closeBoth() {
	s.client.Close()
	s.server.Close()
}

// Startup packet codes (the int32 after the length).
const (
	codeSSLRequest    = 80877103
	codeGSSENCRequest = 80877104
	codeCancelRequest = 80877102
)

// maxMessage bounds one message's length, as the server does (1 GiB).
const maxMessage = 1 << 30

// frontend forwards the client's messages, spotting COMMITs. After it has
// forwarded a COMMIT whose answer is to be lost it stops reading: the
// client waits for that answer, and anything it sent after it must not
// reach the server.
func (s *session) frontend() {
	defer s.closeBothOnError()
	r := bufio.NewReader(s.client)
	w := bufio.NewWriter(s.server)
	// The startup packet: untyped, length first. SSL and GSS encryption
	// requests are refused here and the real startup packet follows.
	for {
		pkt, err := readStartup(r)
		if err != nil {
			return
		}
		code := binary.BigEndian.Uint32(pkt[4:8])
		if code == codeSSLRequest || code == codeGSSENCRequest {
			if _, err := s.client.Write([]byte{'N'}); err != nil {
				return
			}
			continue
		}
		if _, err := w.Write(pkt); err != nil || w.Flush() != nil {
			return
		}
		if code == codeCancelRequest {
			// A cancel connection carries nothing else: the server
			// closes it.
			_, _ = io.Copy(s.server, r)
			return
		}
		break
	}
	statements := map[string]bool{} // prepared statement name → is a COMMIT
	portals := map[string]bool{}    // portal name → runs a COMMIT
	batchCommits := false           // an Execute of a COMMIT since the last Sync
	for {
		typ, msg, err := readMessage(r)
		if err != nil {
			return
		}
		f := pass
		switch typ {
		case 'Q':
			if isCommit(cstring(msg[5:])) {
				f = s.p.decide()
			}
			s.expect(f)
		case 'P':
			name, rest := splitCString(msg[5:])
			query, _ := splitCString(rest)
			statements[name] = isCommit(query)
		case 'B':
			portal, rest := splitCString(msg[5:])
			stmt, _ := splitCString(rest)
			portals[portal] = statements[stmt]
		case 'E':
			portal, _ := splitCString(msg[5:])
			batchCommits = batchCommits || portals[portal]
		case 'C':
			// Close of a statement ('S') or portal ('P').
			if len(msg) > 5 {
				name, _ := splitCString(msg[6:])
				if msg[5] == 'S' {
					delete(statements, name)
				} else {
					delete(portals, name)
				}
			}
		case 'S':
			if batchCommits {
				f = s.p.decide()
			}
			batchCommits = false
			s.expect(f)
		case 'F':
			s.expect(pass)
		}
		if _, err := w.Write(msg); err != nil {
			return
		}
		if f != pass || typ == 'X' || r.Buffered() == 0 {
			if err := w.Flush(); err != nil {
				return
			}
		}
		if f != pass || typ == 'X' {
			return
		}
	}
}

// closeBothOnError ends the session when the frontend stops for any reason
// but a COMMIT to cut, whose backend closes both once the answer came.
func (s *session) closeBothOnError() {
	s.mu.Lock()
	cutting := false
	for _, f := range s.answers {
		cutting = cutting || f != pass
	}
	s.mu.Unlock()
	if !cutting {
		s.closeBoth()
	}
}

// backend forwards the server's messages to the client, except the answer
// of a COMMIT to cut: once its ReadyForQuery has arrived (the COMMIT is
// done), both connections are closed.
func (s *session) backend() {
	defer s.closeBoth()
	r := bufio.NewReader(s.server)
	w := bufio.NewWriter(s.client)
	for {
		typ, msg, err := readMessage(r)
		if err != nil {
			return
		}
		if f := s.current(); f != pass {
			// Part of a lost answer: dropped. The ReadyForQuery ends it.
			if typ == 'Z' {
				s.answered()
				if f == cutBlack {
					s.p.goDark()
				}
				return
			}
			continue
		}
		if typ == 'Z' {
			s.answered()
		}
		if _, err := w.Write(msg); err != nil {
			return
		}
		if r.Buffered() == 0 {
			if err := w.Flush(); err != nil {
				return
			}
		}
	}
}

// readStartup reads the untyped startup packet: int32 length (itself
// included), int32 code, then the rest.
func readStartup(r *bufio.Reader) ([]byte, error) {
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(head[:])
	if n < 8 || n > 10000 {
		return nil, fmt.Errorf("pgproxy: startup packet of %d bytes", n)
	}
	pkt := make([]byte, n)
	copy(pkt, head[:])
	_, err := io.ReadFull(r, pkt[4:])
	return pkt, err
}

// readMessage reads one typed message and returns its type and all of its
// bytes (type, length and body), ready to forward.
func readMessage(r *bufio.Reader) (byte, []byte, error) {
	var head [5]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(head[1:])
	if n < 4 || n > maxMessage {
		return 0, nil, fmt.Errorf("pgproxy: message %q of %d bytes", head[0], n)
	}
	msg := make([]byte, 1+n)
	copy(msg, head[:])
	if _, err := io.ReadFull(r, msg[5:]); err != nil {
		return 0, nil, err
	}
	return head[0], msg, nil
}

// splitCString splits a NUL-terminated string off the front of b.
func splitCString(b []byte) (string, []byte) {
	for i, c := range b {
		if c == 0 {
			return string(b[:i]), b[i+1:]
		}
	}
	return string(b), nil
}

func cstring(b []byte) string {
	s, _ := splitCString(b)
	return s
}

// isCommit reports whether sql is one COMMIT statement: COMMIT or END,
// optionally with WORK or TRANSACTION (and AND [NO] CHAIN), in any case,
// with optional semicolons and white space. COMMIT PREPARED (two-phase) is
// not one.
func isCommit(sql string) bool {
	sql = strings.TrimSpace(sql)
	for strings.HasSuffix(sql, ";") {
		sql = strings.TrimSpace(strings.TrimSuffix(sql, ";"))
	}
	words := strings.Fields(strings.ToLower(sql))
	if len(words) == 0 || (words[0] != "commit" && words[0] != "end") {
		return false
	}
	for _, w := range words[1:] {
		switch w {
		case "work", "transaction", "and", "no", "chain":
		default:
			return false
		}
	}
	return true
}
