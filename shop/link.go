package shop

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// LinkRequest is what the merchant asks for when making a payment link.
type LinkRequest struct {
	Charge
	// ExpiresAt ends the link; or ExpiresIn from now. Neither: in
	// DefaultLinkLifetime. At most MaxLinkLifetime ahead.
	ExpiresAt time.Time
	ExpiresIn time.Duration
	// Reusable links take any number of payments; by default a link takes
	// one.
	Reusable bool
	// Caller's Key, when given, names the link: the same key makes no
	// second link, whatever happened to the first answer.
	Caller
}

// Lifetimes of a payment link.
const (
	DefaultLinkLifetime = 30 * 24 * time.Hour
	MaxLinkLifetime     = 366 * 24 * time.Hour
	minLinkLifetime     = time.Second
)

// linkTokenBytes gives a link's token 160 random bits: nobody finds a link
// by guessing.
const linkTokenBytes = 20

// maxTokenLength bounds what is looked up as a token.
const maxTokenLength = 64

// Errors of payment links. A link that does not exist and a token that
// is wrong are one error, ErrLinkNotFound.
var (
	ErrLinkNotFound = errors.New("no such payment link")
	ErrLinkExpired  = errors.New("the payment link has expired")
	ErrLinkDisabled = errors.New("the payment link was disabled")
	// ErrLinkUsed: a single-use link was paid.
	ErrLinkUsed = errors.New("the payment link was used")
	// ErrLinkBusy: a single-use link's payment is waiting for its buyer.
	ErrLinkBusy = errors.New("the payment link is being paid")
)

// Statuses of a payment link (LinkStatus).
const (
	LinkActive   = "active"
	LinkBusy     = "busy"
	LinkUsed     = "used"
	LinkExpired  = "expired"
	LinkDisabled = "disabled"
)

// CreateLink makes a payment link: it prices the charge (catalog lines at
// today's prices, or the free amount), and stores the link with a fresh
// unguessable token. Bad input is an InputError and stores nothing.
func (s *Service) CreateLink(req LinkRequest) (*state.Link, error) {
	if req.Order != "" && req.Reusable {
		return nil, &InputError{Field: "reusable", Reason: "a link for an order takes one payment: its goods are paid once"}
	}
	items, total, desc, err := s.price(req.Charge)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	expires, err := linkExpiry(req, now)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		l := &state.Link{
			Description: desc, Items: items, Currency: s.catalog.Currency(), Amount: total,
			Reusable: req.Reusable, CaptureOnPayment: req.CaptureOnPayment, CreatedAt: now, ExpiresAt: expires,
			ForOrder: req.Order,
		}
		if l.ID, err = randomID("link-", 8); err != nil {
			return nil, err
		}
		if req.Key != "" {
			// The merchant's key names the link (its ID is not secret;
			// its token is): a request whose answer was lost, sent again
			// with its key, finds the link the first one made.
			l.ID, l.ClientFingerprint = keyedLinkID(req.Key), req.Fingerprint
		}
		if l.Token, err = randomID("", linkTokenBytes); err != nil {
			return nil, err
		}
		if req.Order != "" {
			// Recorded on the order first: a link that is then not
			// written counts as closed once againGrace has passed.
			if err := s.offerAgain(req.Order, state.AgainRoute{Kind: againLink, ID: l.ID, At: now}); err != nil {
				return nil, err
			}
		}
		err = s.store.CreateLink(l)
		if errors.Is(err, state.ErrExists) && req.Key != "" {
			return s.keyedLink(l.ID, req.Fingerprint)
		}
		if errors.Is(err, state.ErrExists) && attempt < 3 && req.Order == "" {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("storing payment link: %w", err)
		}
		s.log.Info("payment link created", zap.String("link", l.ID), zap.Int64("amount", l.Amount), zap.Bool("reusable", l.Reusable), zap.Time("expires", l.ExpiresAt))
		return l, nil
	}
}

// keyedLinkID is the ID of the link a merchant's key makes.
func keyedLinkID(key string) string {
	sum := sha256.Sum256([]byte("link\x00" + key))
	return "link-" + referenceEncoding.EncodeToString(sum[:8])
}

// keyedLink is the link a key made before: the same request gets it again,
// another request with the key is ErrKeyReused.
func (s *Service) keyedLink(id, fingerprint string) (*state.Link, error) {
	l, err := s.store.GetLink(id)
	if err != nil {
		return nil, fmt.Errorf("reading the link of a key: %w", err)
	}
	if l.ClientFingerprint != fingerprint {
		return nil, ErrKeyReused
	}
	return l, nil
}

func linkExpiry(req LinkRequest, now time.Time) (time.Time, error) {
	expires := now.Add(DefaultLinkLifetime)
	switch {
	case !req.ExpiresAt.IsZero() && req.ExpiresIn != 0:
		return expires, &InputError{Field: "expires_at", Reason: "give expires_at or expires_in, not both"}
	case !req.ExpiresAt.IsZero():
		expires = req.ExpiresAt.UTC()
	case req.ExpiresIn != 0:
		expires = now.Add(req.ExpiresIn)
	}
	if expires.Before(now.Add(minLinkLifetime)) || expires.After(now.Add(MaxLinkLifetime)) {
		return expires, &InputError{Field: "expires_at", Reason: "the link must expire in the future, at most 366 days from now"}
	}
	return expires, nil
}

// randomID is prefix and n random bytes in lower-case base32.
func randomID(prefix string, n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating an id: %w", err)
	}
	return prefix + referenceEncoding.EncodeToString(b), nil
}

// Link returns a link by its ID (the merchant's handle).
func (s *Service) Link(id string) (*state.Link, error) {
	l, err := s.store.GetLink(id)
	if errors.Is(err, state.ErrNotFound) {
		return nil, ErrLinkNotFound
	}
	return l, err
}

// LinkByToken returns the link a buyer's address names. Every token takes
// the same path: the store is asked for the hash of whatever came, and the
// token found is compared in constant time, so neither the answer nor its
// time tells a guess that is close from one that is not.
func (s *Service) LinkByToken(token string) (*state.Link, error) {
	if len(token) > maxTokenLength {
		return nil, ErrLinkNotFound
	}
	l, err := s.store.LinkByToken(state.Hash(token))
	if errors.Is(err, state.ErrNotFound) {
		return nil, ErrLinkNotFound
	}
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(l.Token), []byte(token)) != 1 {
		return nil, ErrLinkNotFound
	}
	return l, nil
}

// Links lists payment links, newest first.
func (s *Service) Links(cursor string, limit int) ([]*state.Link, string, error) {
	if err := checkCursor(cursor); err != nil {
		return nil, "", err
	}
	return s.store.ListLinks(cursor, limit)
}

// LinkOrders lists the orders made from a link, newest first.
func (s *Service) LinkOrders(id, cursor string, limit int) ([]*state.Order, string, error) {
	return s.Orders(cursor, limit, state.ListFilter{Link: id})
}

// DisableLink stops a link from taking payments; payments already made
// stay as they are. Disabling twice changes nothing.
func (s *Service) DisableLink(id string) (*state.Link, error) {
	now := s.now().UTC()
	l, err := s.store.UpdateLink(id, func(l *state.Link) error {
		if l.DisabledAt.IsZero() {
			l.DisabledAt = now
		}
		return nil
	})
	if errors.Is(err, state.ErrNotFound) {
		return nil, ErrLinkNotFound
	}
	if err == nil {
		s.log.Info("payment link disabled", zap.String("link", id))
	}
	return l, err
}

// LinkStatus says what a link does now: takes payments (active), waits
// for the buyer of its single payment (busy), was paid (used), expired or
// was disabled.
func (s *Service) LinkStatus(l *state.Link) string {
	return s.LinkStatusFor(l, "")
}

// LinkStatusFor is LinkStatus for the buyer of attempt (see
// LinkPayment.Attempt): a link busy with that buyer's own payment is
// active for them, as paying it again leads to that payment.
func (s *Service) LinkStatusFor(l *state.Link, attempt string) string {
	var holder *state.Order
	if l.Holder != "" {
		holder, _ = s.store.Get(l.Holder)
	}
	if heldBy(holder, attempt) && admission(l, nil, s.now()) == nil {
		return LinkActive
	}
	switch err := admission(l, holder, s.now()); {
	case err == nil:
		return LinkActive
	case errors.Is(err, ErrLinkDisabled):
		return LinkDisabled
	case errors.Is(err, ErrLinkUsed):
		return LinkUsed
	case errors.Is(err, ErrLinkExpired):
		return LinkExpired
	}
	return LinkBusy
}

// admission is the rule of a link: disabled and expired links take no
// payment; a single-use link takes one while no order of it waits for
// its buyer or was paid (an order that ended unpaid frees it again).
func admission(l *state.Link, holder *state.Order, now time.Time) error {
	switch {
	case !l.DisabledAt.IsZero():
		return ErrLinkDisabled
	case !l.Reusable && holder != nil && holder.Payment.Authorized > 0:
		return ErrLinkUsed
	case !now.Before(l.ExpiresAt):
		return ErrLinkExpired
	case !l.Reusable && holder != nil && holder.Status.Pending():
		return ErrLinkBusy
	}
	return nil
}
