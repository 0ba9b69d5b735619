package sim

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"net/url"

	"github.com/caddy-vipps/caddy-vipps/vipps"
)

// appStyle is what the simulator's stand-ins for the app look like.
const appStyle = `
body{margin:0;font:16px/1.5 system-ui,sans-serif;background:#ff5b24;color:#1f1f1f}
main{max-width:26rem;margin:3rem auto;background:#fff;border-radius:16px;padding:2rem;box-shadow:0 4px 20px rgba(0,0,0,.15)}
.banner{background:#fff3cd;border-radius:8px;padding:.5rem .8rem;font-size:.85rem}
.muted{color:#5c5c5c;font-size:.9rem}`

var landingTmpl = template.Must(template.New("landing").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Vipps MobilePay (simulator)</title>
<style>` + appStyle + `
.amount{font-size:2.2rem;font-weight:700;margin:.5rem 0}
form{display:inline}
button{font:inherit;font-weight:600;border:0;border-radius:999px;padding:.8rem 1.6rem;cursor:pointer;margin:.5rem .5rem 0 0}
#approve{background:#ff5b24;color:#fff}#reject,#decline{background:#eee;color:#1f1f1f}
fieldset{border:1px solid #ddd;border-radius:8px;margin:.5rem 0}.opt{display:block;padding:.2rem 0}.price{color:#5c5c5c}
#consent{background:#f6f6f6;border-radius:8px;padding:.2rem 1rem;margin:.5rem 0}#consent h2{font-size:1rem}
</style></head>
<body><main>
<p class="banner">Simulator — no real money moves. <a id="inbox-link" href="/landing">Test buyers' push messages</a></p>
{{if .Push}}<p class="muted" id="push">A push message to {{.PushTo}}</p>{{end}}
<p class="muted">Pay to merchant <strong id="merchant">{{.MSN}}</strong></p>
<p class="amount" id="amount">{{.Amount}}</p>
<p id="description">{{.Description}}</p>
<p class="muted">Reference <code id="reference">{{.Reference}}</code></p>
{{if .Open}}
<form id="pay" method="post" action="/landing/approve"><input type="hidden" name="token" value="{{.Token}}">
<p><label>Pay as <select id="user" name="user">{{range .Users}}<option value="{{.Phone}}"{{if eq .Phone $.User}} selected{{end}}>{{.GivenName}} {{.FamilyName}} ({{.Country}})</option>{{end}}</select></label></p>
{{if .Shipping}}<fieldset id="shipping"><legend>Delivery</legend>{{range .Shipping}}
<label class="opt"><input type="radio" name="shipping_option" value="{{.ID}}"{{if .Default}} checked{{end}}> <span class="name">{{.Name}}</span> <span class="price">{{.Price}}</span></label>{{end}}
</fieldset>{{end}}
{{if .Shares}}<section id="consent"><h2>Information you share with {{.MSN}}</h2><ul>{{range .Shares}}<li>{{.}}</li>{{end}}</ul>
<p class="muted">By approving you agree to share this. Declining cancels the payment.</p></section>{{end}}
<button id="approve" type="submit">{{if .Shares}}Approve and share{{else}}Approve{{end}}</button></form>
{{if .Shares}}<form method="post" action="/landing/decline"><input type="hidden" name="token" value="{{.Token}}"><button id="decline" type="submit">Don't share</button></form>{{end}}
<form method="post" action="/landing/reject"><input type="hidden" name="token" value="{{.Token}}"><button id="reject" type="submit">Reject</button></form>
{{else}}
<p id="state">This payment is {{.State}}.</p>{{if .ReturnURL}}<p><a id="return" href="{{.ReturnURL}}">Back to the shop</a></p>{{end}}
{{end}}
</main></body></html>`))

type landingData struct {
	MSN, Amount, Description, Reference, Token, State, ReturnURL string
	Open                                                         bool
	// Push is set for a PUSH_MESSAGE payment, sent to PushTo.
	Push     bool
	PushTo   string
	Users    []TestUser
	User     string
	Shares   []string
	Shipping []landingOption
}

type landingOption struct {
	ID, Name, Price string
	Default         bool
}

func formatAmount(a vipps.Amount) string {
	return fmt.Sprintf("%d.%02d %s", a.Value/100, a.Value%100, a.Currency)
}

// landingPage serves the stand-in for the Vipps landing page and app:
// GET /landing?token=T shows the payment with Approve and Reject, the test
// user who pays, the consent screen when the payment asks for profile data,
// and the delivery options of an Express payment; POST /landing/approve,
// /landing/decline (refuse consent) and /landing/reject act as the buyer
// and send the browser to the returnUrl, as Vipps does.
func (s *Simulator) landingPage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err == nil {
			token = r.PostForm.Get("token")
		}
	}
	if r.Method == http.MethodGet && r.URL.Path == "/landing" && token == "" {
		s.inboxPage(w, r)
		return
	}
	s.mu.Lock()
	p := s.payments[s.landing[token]]
	if p == nil || token == "" {
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("<!doctype html><title>Not found</title><p>This payment link is not valid.</p>"))
		return
	}
	s.expireLocked(p)
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/landing/approve":
		_ = s.approveWith(p, Approval{User: r.PostForm.Get("user"), ShippingOption: r.PostForm.Get("shipping_option")})
	case r.Method == http.MethodPost && r.URL.Path == "/landing/decline":
		_ = s.approveWith(p, Approval{DeclineConsent: true})
	case r.Method == http.MethodPost && r.URL.Path == "/landing/reject":
		_ = s.rejectLocked(p)
	case r.Method == http.MethodGet && r.URL.Path == "/landing":
		d := landingData{MSN: p.MSN, Amount: formatAmount(p.total()), Description: p.Req.PaymentDescription,
			Reference: p.Req.Reference, Token: token, State: string(p.State), ReturnURL: p.Req.ReturnURL, Open: p.State == vipps.StateCreated,
			Users: TestUsers, User: defaultUser(p).Phone}
		if p.Req.UserFlow == vipps.UserFlowPushMessage && p.Req.Customer != nil {
			d.Push, d.PushTo = true, p.Req.Customer.PhoneNumber
		}
		for _, sc := range p.scopeSet() {
			d.Shares = append(d.Shares, scopeLabels[sc])
		}
		def := p.defaultShipping()
		for _, o := range p.shippingChoices() {
			d.Shipping = append(d.Shipping, landingOption{ID: o.ID, Name: o.Name, Price: "+ " + formatAmount(o.Amount), Default: o.ID == def})
		}
		if len(d.Shipping) > 0 {
			d.Amount += " + delivery"
		}
		s.mu.Unlock()
		var buf bytes.Buffer
		_ = landingTmpl.Execute(&buf, d)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(buf.Bytes())
		return
	default:
		s.mu.Unlock()
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	ret := p.Req.ReturnURL
	push := p.Req.UserFlow == vipps.UserFlowPushMessage && p.Req.Customer != nil
	if push {
		// The app answers a push in the app: nobody is sent anywhere.
		ret = "/landing?user=" + url.QueryEscape(p.Req.Customer.PhoneNumber)
	}
	s.mu.Unlock()
	s.wake()
	if ret == "" {
		http.Redirect(w, r, "/landing?token="+token, http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, ret, http.StatusSeeOther)
}
