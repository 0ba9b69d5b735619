package state

import (
	"errors"
	"math"
	"strconv"
	"time"
)

// Cursors of the order list are "<16 hex digits of the inverted creation
// time in ns>/<reference>": they sort as the list does (newest first, then
// by reference), whatever the engine.

// CursorOf is the cursor that continues a list after o.
func CursorOf(o *Order) string { return invTsKey(o.CreatedAt) + "/" + o.Reference }

// ParseCursor reads a cursor: the creation time in Unix nanoseconds and the
// reference of the order it continues after.
func ParseCursor(c string) (int64, string, error) {
	if !validCursor(c) {
		return 0, "", errors.New("invalid cursor")
	}
	inv, err := strconv.ParseUint(c[:16], 16, 64)
	if err != nil {
		return 0, "", errors.New("invalid cursor")
	}
	return int64(math.MaxUint64 - inv), c[17:], nil
}

// unixNano is t in Unix nanoseconds, never negative (as the indexes keep
// it).
func unixNano(t time.Time) int64 {
	n := t.UnixNano()
	if n < 0 {
		return 0
	}
	return n
}

// CreatedNS is an order's creation time as the cursors and indexes keep it.
func CreatedNS(o *Order) int64 { return unixNano(o.CreatedAt) }
