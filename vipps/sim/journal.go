package sim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"
)

// The journal keeps the simulator's state in its data directory as lines
// of JSON, one whole record per line:
//
//	{"t":"payment","id":"123456/order-1","v":{…}}
//	{"t":"idem","id":"…","del":true}
//	{"t":"reset"}
//
// The last line for a type and id wins; a del line removes the record, a
// reset line everything before it. Lines are appended to the newest
// segment file (seg-00000007.jsonl). A compaction folds the newest base and
// the segments after it into a new base (base-00000007.jsonl) holding only
// the last line of each live record, then removes what it replaced; it
// runs when the simulator opens the directory and in the background
// whenever the segment being written grows past compactAfter. Opening reads
// the newest base and the segments after it and skips lines that do not
// parse, such as the last line of a write torn by a crash.
//
// Changes are put into the journal under the simulator's lock, as they
// happen, and written by flush, which the answer to a request waits for:
// one write per group of concurrent requests, no fsync. A process killed
// after an answer keeps what it answered, since the kernel has the bytes;
// a machine that loses power may lose the last moments.
type journal struct {
	dir  string
	log  *zap.Logger
	lock io.Closer

	mu       sync.Mutex // pending, and assigned's increments
	pending  []jentry
	assigned atomic.Uint64 // entries put so far
	written  atomic.Uint64 // entries written so far

	wmu        sync.Mutex // everything below
	f          *os.File
	seg        int   // number of the segment being appended to
	segSize    int64 // bytes in it
	baseSize   int64 // bytes in the newest base when it was made
	buf        []byte
	failing    bool // the last write failed
	closed     bool
	compacting bool
	compacted  sync.WaitGroup
}

// compactAfter is how large the segment being written may grow (and at
// least as large as the newest base) before it is compacted.
var compactAfter int64 = 64 << 20

// jentry is a journal line to write. V is marshalled when it is written,
// outside the simulator's lock, so it must not change after put.
type jentry struct {
	T   string `json:"t"`
	ID  string `json:"id,omitempty"`
	V   any    `json:"v,omitempty"`
	Del bool   `json:"del,omitempty"`
}

// jline is a journal line as read back.
type jline struct {
	T   string          `json:"t"`
	ID  string          `json:"id"`
	V   json.RawMessage `json:"v"`
	Del bool            `json:"del"`
}

const recReset = "reset"

var errJournalClosed = errors.New("sim: the data directory is closed")

func segName(n int) string  { return fmt.Sprintf("seg-%08d.jsonl", n) }
func baseName(n int) string { return fmt.Sprintf("base-%08d.jsonl", n) }

// openJournal opens (or makes) a data directory, hands every record in it
// to apply in order, compacts it and returns the journal to append to.
// Lines that do not parse, or that apply refuses, are skipped and counted
// in a warning.
func openJournal(dir string, log *zap.Logger, apply func(jline) error) (*journal, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("sim: data directory: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	j := &journal{dir: dir, log: log, lock: lock}
	base, segs, err := listJournal(dir)
	if err != nil {
		_ = lock.Close()
		return nil, err
	}
	files := journalFiles(base, segs, int(^uint(0)>>1))
	bad := 0
	for _, name := range files {
		n, err := scanJournal(filepath.Join(dir, name), func(_ int64, line []byte) bool {
			var l jline
			return json.Unmarshal(line, &l) == nil && l.T != "" && apply(l) == nil
		})
		if err != nil {
			_ = lock.Close()
			return nil, fmt.Errorf("sim: reading the data directory: %w", err)
		}
		bad += n
	}
	if bad > 0 {
		log.Warn("skipped unreadable lines in the data directory", zap.Int("lines", bad))
	}
	top := base
	if len(segs) > 0 {
		top = max(top, segs[len(segs)-1])
	}
	if top > base {
		if j.baseSize, err = compactJournal(dir, top); err != nil {
			_ = lock.Close()
			return nil, err
		}
	} else if info, err := os.Stat(filepath.Join(dir, baseName(base))); err == nil {
		j.baseSize = info.Size()
	}
	if err := j.openSegment(top + 1); err != nil {
		_ = lock.Close()
		return nil, err
	}
	return j, nil
}

// listJournal returns the newest base's number (0: none) and the numbers
// of the segments after it, in order, removing files a crash left behind.
func listJournal(dir string) (int, []int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, nil, fmt.Errorf("sim: data directory: %w", err)
	}
	base := 0
	var bases, segs []int
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, ".tmp") {
			_ = os.Remove(filepath.Join(dir, name))
			continue
		}
		if n, ok := fileNumber(name, "base-"); ok {
			bases = append(bases, n)
			base = max(base, n)
		} else if n, ok := fileNumber(name, "seg-"); ok {
			segs = append(segs, n)
		}
	}
	slices.Sort(segs)
	removeOld(dir, base, bases, segs)
	segs = slices.DeleteFunc(segs, func(n int) bool { return n <= base })
	return base, segs, nil
}

// removeOld removes the bases older than base and the segments it holds.
func removeOld(dir string, base int, bases, segs []int) {
	for _, n := range bases {
		if n < base {
			_ = os.Remove(filepath.Join(dir, baseName(n)))
		}
	}
	for _, n := range segs {
		if n <= base {
			_ = os.Remove(filepath.Join(dir, segName(n)))
		}
	}
}

func fileNumber(name, prefix string) (int, bool) {
	digits, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return 0, false
	}
	digits, ok = strings.CutSuffix(digits, ".jsonl")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	return n, err == nil && n > 0
}

// journalFiles names the base (if any) and the segments up to upTo, in
// the order they are read.
func journalFiles(base int, segs []int, upTo int) []string {
	var files []string
	if base > 0 {
		files = append(files, baseName(base))
	}
	for _, n := range segs {
		if n > base && n <= upTo {
			files = append(files, segName(n))
		}
	}
	return files
}

// scanJournal calls fn with each complete line of a file and its offset; a
// last line without its newline was torn by a crash and is skipped. It
// returns how many lines were skipped, as torn or because fn refused them.
func scanJournal(path string, fn func(off int64, line []byte) bool) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<16)
	var off int64
	bad := 0
	for {
		line, err := r.ReadBytes('\n')
		if err == io.EOF {
			if len(line) > 0 {
				bad++
			}
			return bad, nil
		}
		if err != nil {
			return bad, err
		}
		if !fn(off, line[:len(line)-1]) {
			bad++
		}
		off += int64(len(line))
	}
}

// compactJournal folds the newest base and the segments up to upTo into
// base-upTo, which holds the last line of each live record, and removes the
// files it replaced. It returns the new base's size.
func compactJournal(dir string, upTo int) (int64, error) {
	base, segs, err := listJournal(dir)
	if err != nil {
		return 0, err
	}
	files := journalFiles(base, segs, upTo)
	// First pass: where each live record's last line is.
	type pos struct {
		file int
		off  int64
	}
	last := map[string]pos{}
	for i, name := range files {
		_, err := scanJournal(filepath.Join(dir, name), func(off int64, line []byte) bool {
			l, ok := lineHead(line)
			if !ok {
				return false
			}
			switch {
			case l.T == recReset:
				clear(last)
			case l.Del:
				delete(last, l.T+"\x00"+l.ID)
			default:
				last[l.T+"\x00"+l.ID] = pos{i, off}
			}
			return true
		})
		if err != nil {
			return 0, fmt.Errorf("sim: compacting the data directory: %w", err)
		}
	}
	keep := make(map[pos]bool, len(last))
	for _, p := range last {
		keep[p] = true
	}
	clear(last)
	// Second pass: copy those lines, in the order they were written.
	final := filepath.Join(dir, baseName(upTo))
	out, err := os.OpenFile(final+".tmp", os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, fmt.Errorf("sim: compacting the data directory: %w", err)
	}
	w := bufio.NewWriterSize(out, 1<<16)
	var size int64
	for i, name := range files {
		_, err := scanJournal(filepath.Join(dir, name), func(off int64, line []byte) bool {
			if keep[pos{i, off}] {
				n, _ := w.Write(line)
				_ = w.WriteByte('\n')
				size += int64(n) + 1
			}
			return true
		})
		if err != nil {
			out.Close()
			return 0, fmt.Errorf("sim: compacting the data directory: %w", err)
		}
	}
	err = w.Flush()
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(final+".tmp", final)
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		_ = os.Remove(final + ".tmp")
		return 0, fmt.Errorf("sim: compacting the data directory: %w", err)
	}
	removeOld(dir, upTo, []int{base}, segs)
	return size, nil
}

// lineHead reads a line's type, id and whether it deletes, without
// reading the record: the journal writes t and id first, then v or del.
// A line in another order is read whole. A line that does not parse is not
// ok; a record that does not parse is caught when the journal is opened.
func lineHead(line []byte) (jline, bool) {
	var l jline
	dec := json.NewDecoder(bytes.NewReader(line))
	want := func(s string) bool { t, err := dec.Token(); return err == nil && t == s }
	str := func(dst *string) bool { t, err := dec.Token(); v, ok := t.(string); *dst = v; return err == nil && ok }
	if t, err := dec.Token(); err != nil || t != json.Delim('{') || !want("t") || !str(&l.T) {
		return l, false
	}
	if l.T == recReset {
		return l, true
	}
	if want("id") && str(&l.ID) {
		if key, err := dec.Token(); err == nil && (key == "v" || key == "del") {
			l.Del = key == "del"
			return l, true
		}
	}
	l = jline{}
	return l, json.Unmarshal(line, &l) == nil && l.T != ""
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// openSegment starts appending to segment n; call with wmu held (or before
// the journal is shared).
func (j *journal) openSegment(n int) error {
	f, err := os.OpenFile(filepath.Join(j.dir, segName(n)), os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("sim: data directory: %w", err)
	}
	if j.f != nil {
		_ = j.f.Close()
	}
	j.f, j.seg, j.segSize = f, n, 0
	return nil
}

// put records a whole record; call with the simulator's lock held, so that
// the lines of one record are in the order of its changes.
func (j *journal) put(t, id string, v any) {
	if j != nil {
		j.add(jentry{T: t, ID: id, V: v})
	}
}

// del records that a record is gone.
func (j *journal) del(t, id string) {
	if j != nil {
		j.add(jentry{T: t, ID: id, Del: true})
	}
}

// reset records that everything before is gone.
func (j *journal) reset() {
	if j != nil {
		j.add(jentry{T: recReset})
	}
}

func (j *journal) add(e jentry) {
	j.mu.Lock()
	j.pending = append(j.pending, e)
	j.assigned.Add(1)
	j.mu.Unlock()
}

// flush writes everything put so far. Concurrent callers share one write:
// whoever holds the file writes what all of them put.
func (j *journal) flush() error {
	if j == nil {
		return nil
	}
	target := j.assigned.Load()
	if j.written.Load() >= target {
		return nil
	}
	j.wmu.Lock()
	defer j.wmu.Unlock()
	if j.written.Load() >= target {
		return nil
	}
	return j.flushLocked()
}

// flushLocked writes what is pending; call with wmu held.
func (j *journal) flushLocked() error {
	if j.closed {
		return errJournalClosed
	}
	j.mu.Lock()
	batch := j.pending
	j.pending = nil
	last := j.assigned.Load()
	j.mu.Unlock()
	buf := j.buf[:0]
	for _, e := range batch {
		b, err := json.Marshal(e)
		if err != nil {
			j.log.Error("a record could not be encoded for the data directory", zap.String("type", e.T), zap.Error(err))
			continue
		}
		buf = append(append(buf, b...), '\n')
	}
	if cap(buf) <= 1<<20 {
		j.buf = buf
	}
	if _, err := j.f.Write(buf); err != nil {
		// Cut off what was written of the batch and keep it for the
		// next write, so that every line stays whole.
		_ = j.f.Truncate(j.segSize)
		j.mu.Lock()
		j.pending = append(batch, j.pending...)
		j.mu.Unlock()
		if !j.failing {
			j.failing = true
			j.log.Error("writing the data directory failed", zap.Error(err))
		}
		return fmt.Errorf("sim: writing the data directory: %w", err)
	}
	if j.failing {
		j.failing = false
		j.log.Info("writing the data directory works again")
	}
	j.segSize += int64(len(buf))
	j.written.Store(last)
	if j.segSize > compactAfter && j.segSize > j.baseSize && !j.compacting {
		j.rotate()
	}
	return nil
}

// rotate starts a new segment and compacts the ones before it in the
// background; call with wmu held.
func (j *journal) rotate() {
	upTo := j.seg
	if err := j.openSegment(upTo + 1); err != nil {
		j.log.Error("starting a new segment in the data directory failed", zap.Error(err))
		return
	}
	j.compacting = true
	j.compacted.Add(1)
	go func() {
		defer j.compacted.Done()
		size, err := compactJournal(j.dir, upTo)
		if err != nil {
			j.log.Error("compacting the data directory failed", zap.Error(err))
		}
		j.wmu.Lock()
		j.compacting = false
		if err == nil {
			j.baseSize = size
		}
		j.wmu.Unlock()
	}()
}

// close writes what is pending, syncs and closes the segment, waits for a
// running compaction and releases the directory.
func (j *journal) close() error {
	if j == nil {
		return nil
	}
	j.wmu.Lock()
	if j.closed {
		j.wmu.Unlock()
		return nil
	}
	err := j.flushLocked()
	if serr := j.f.Sync(); err == nil {
		err = serr
	}
	if cerr := j.f.Close(); err == nil {
		err = cerr
	}
	j.closed = true
	j.wmu.Unlock()
	j.compacted.Wait()
	if lerr := j.lock.Close(); err == nil {
		err = lerr
	}
	return err
}
