package shop

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// Orders lists orders for the merchant, newest first: at most limit, after
// cursor (empty for the first page), narrowed by f. A cursor, status or
// date range the caller got wrong is an InputError naming it, checked
// before the store is read; any other error is the store's.
func (s *Service) Orders(cursor string, limit int, f state.ListFilter) ([]*state.Order, string, error) {
	if err := checkListFilter(cursor, f); err != nil {
		return nil, "", err
	}
	orders, next, err := s.store.List(cursor, limit, f)
	if errors.Is(err, state.ErrInvalidFilter) {
		return nil, "", &InputError{Field: "link", Reason: err.Error()}
	}
	return orders, next, err
}

// checkListFilter refuses what no store could answer sensibly.
func checkListFilter(cursor string, f state.ListFilter) error {
	if err := checkCursor(cursor); err != nil {
		return err
	}
	for _, st := range f.Status {
		if !slices.Contains(state.AllStatuses, st) {
			known := make([]string, len(state.AllStatuses))
			for i, k := range state.AllStatuses {
				known[i] = string(k)
			}
			return &InputError{Field: "status", Reason: fmt.Sprintf("unknown status %q; the statuses are %s", st, strings.Join(known, ", "))}
		}
	}
	if f.Link != "" && len(f.Status) > 0 {
		return &InputError{Field: "link", Reason: state.ErrInvalidFilter.Error()}
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.From.After(f.To) {
		return &InputError{Field: "from", Reason: "must not be after to"}
	}
	return nil
}

// checkCursor refuses a cursor that no page of a list gave.
func checkCursor(cursor string) error {
	if cursor == "" {
		return nil
	}
	if _, _, err := state.ParseCursor(cursor); err != nil {
		return &InputError{Field: "cursor", Reason: "the cursor is not valid; use the \"next\" of the previous page"}
	}
	return nil
}
