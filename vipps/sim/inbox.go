package sim

import (
	"bytes"
	"cmp"
	"html/template"
	"net/http"
	"slices"

	"github.com/caddy-vipps/caddy-vipps/vipps"
)

var inboxTmpl = template.Must(template.New("inbox").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Push messages (simulator)</title>
<style>` + appStyle + `
ul{list-style:none;padding:0}li{border:1px solid #ddd;border-radius:8px;padding:.6rem .8rem;margin:.5rem 0}
a.open{font-weight:600;color:#a52f00}
</style></head>
<body><main>
<p class="banner">Simulator — no real money moves.</p>
<h1>Push messages</h1>
<form method="get" action="/landing"><label>Test buyer <select id="user" name="user">{{range .Users}}<option value="{{.Phone}}"{{if eq .Phone $.User}} selected{{end}}>{{.GivenName}} {{.FamilyName}} (+{{.Phone}})</option>{{end}}</select></label> <button type="submit">Show</button></form>
<ul id="inbox">{{range .Messages}}<li class="message" data-reference="{{.Reference}}"><strong>{{.Amount}}</strong> · {{.Description}}<br><span class="muted">{{.State}}</span>{{if .Open}} · <a class="open" href="/landing?token={{.Token}}">Open in the app</a>{{end}}</li>
{{else}}<li class="muted" id="empty">No push messages for this buyer.</li>{{end}}</ul>
</main></body></html>`))

type inboxData struct {
	Users    []TestUser
	User     string
	Messages []inboxMessage
}

type inboxMessage struct {
	Reference, Amount, Description, State, Token string
	Open                                         bool
}

// inboxLimit is how many push messages the inbox shows, newest first.
const inboxLimit = 20

// inboxPage serves GET /landing without a token: the push messages a test
// buyer (?user=<phone>, by default the first) got from PUSH_MESSAGE
// payments, newest first, each opening its page in the stand-in app.
func (s *Simulator) inboxPage(w http.ResponseWriter, r *http.Request) {
	user := r.URL.Query().Get("user")
	if _, ok := testUser(user); !ok {
		user = TestUsers[0].Phone
	}
	s.mu.Lock()
	var pushed []*payment
	for _, p := range s.payments {
		if p.Req.UserFlow == vipps.UserFlowPushMessage && p.Req.Customer != nil && p.Req.Customer.PhoneNumber == user {
			s.expireLocked(p)
			pushed = append(pushed, p)
		}
	}
	slices.SortFunc(pushed, func(a, b *payment) int { return cmp.Compare(b.Seq, a.Seq) })
	if len(pushed) > inboxLimit {
		pushed = pushed[:inboxLimit]
	}
	d := inboxData{Users: TestUsers, User: user}
	for _, p := range pushed {
		d.Messages = append(d.Messages, inboxMessage{Reference: p.Req.Reference, Amount: formatAmount(p.total()), Description: p.Req.PaymentDescription,
			State: string(p.State), Token: p.LandingToken, Open: p.State == vipps.StateCreated})
	}
	s.mu.Unlock()
	var buf bytes.Buffer
	_ = inboxTmpl.Execute(&buf, d)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}
