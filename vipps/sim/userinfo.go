package sim

import (
	"net/http"
	"strings"
)

// userinfoAPI serves GET /vipps-userinfo-api/userinfo/{sub}: the profile a
// buyer shared in this sales unit's most recent payment with that sub. It
// takes the merchant's access token; the subscription key is not part of
// the call (with StrictUserinfo it is refused, as Vipps does). Unknown subs
// are 404, another sales unit's sub and data older than 168 hours 403.
func (s *Simulator) userinfoAPI(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeProblem(w, r, domainErr(http.StatusMethodNotAllowed, "", "Method Not Allowed", "the Userinfo API is read with GET"))
		return
	}
	bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	info, known := s.tokens.get(bearer)
	strict := s.settings.Load().StrictUserinfo
	if strict && r.Header.Get("Ocp-Apim-Subscription-Key") != "" {
		writeGateway(w, http.StatusUnauthorized, "The Userinfo API is not part of this subscription: do not send a subscription key.")
		return
	}
	if !ok || !known || !s.clock.Now().Before(info.expires) {
		writeGateway(w, http.StatusUnauthorized, "Access denied due to missing, invalid or expired access token.")
		return
	}
	msn := r.Header.Get("Merchant-Serial-Number")
	if msn == "" {
		msn = info.msn
	}
	sub := strings.TrimPrefix(r.URL.Path, "/vipps-userinfo-api/userinfo/")
	s.mu.Lock()
	// A sub names one buyer in one sales unit: its latest payment is either
	// this sales unit's or another's.
	var mine, others *payment
	if latest := s.subs.latest(sub); latest != nil && sub != "" {
		if msn == "" || latest.MSN == msn {
			mine = latest
		} else {
			others = latest
		}
	}
	switch {
	case mine == nil && others != nil:
		s.mu.Unlock()
		writeProblem(w, r, domainErr(http.StatusForbidden, "", "Forbidden", "the sub belongs to another sales unit"))
	case mine == nil:
		s.mu.Unlock()
		writeProblem(w, r, domainErr(http.StatusNotFound, "", "Not Found", "no user with this sub has shared data with this sales unit"))
	case s.clock.Now().Sub(mine.CreatedAt) > userinfoWindow:
		s.mu.Unlock()
		writeProblem(w, r, domainErr(http.StatusForbidden, "", "Forbidden", "the data of this payment could be fetched for 168 hours; that time is over"))
	default:
		v := mine.userinfo()
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, v)
	}
}
