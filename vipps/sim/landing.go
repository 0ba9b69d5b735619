package sim

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"

	"github.com/caddy-vipps/caddy-vipps/vipps"
)

var landingTmpl = template.Must(template.New("landing").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Vipps MobilePay (simulator)</title>
<style>
body{margin:0;font:16px/1.5 system-ui,sans-serif;background:#ff5b24;color:#1f1f1f}
main{max-width:26rem;margin:3rem auto;background:#fff;border-radius:16px;padding:2rem;box-shadow:0 4px 20px rgba(0,0,0,.15)}
.amount{font-size:2.2rem;font-weight:700;margin:.5rem 0}
.muted{color:#5c5c5c;font-size:.9rem}
form{display:inline}
button{font:inherit;font-weight:600;border:0;border-radius:999px;padding:.8rem 1.6rem;cursor:pointer;margin:.5rem .5rem 0 0}
#approve{background:#ff5b24;color:#fff}#reject{background:#eee;color:#1f1f1f}
.banner{background:#fff3cd;border-radius:8px;padding:.5rem .8rem;font-size:.85rem}
</style></head>
<body><main>
<p class="banner">Simulator — no real money moves.</p>
<p class="muted">Pay to merchant <strong id="merchant">{{.MSN}}</strong></p>
<p class="amount" id="amount">{{.Amount}}</p>
<p id="description">{{.Description}}</p>
<p class="muted">Reference <code id="reference">{{.Reference}}</code></p>
{{if .Open}}
<form method="post" action="/landing/approve"><input type="hidden" name="token" value="{{.Token}}"><button id="approve" type="submit">Approve</button></form>
<form method="post" action="/landing/reject"><input type="hidden" name="token" value="{{.Token}}"><button id="reject" type="submit">Reject</button></form>
{{else}}
<p id="state">This payment is {{.State}}.</p>{{if .ReturnURL}}<p><a id="return" href="{{.ReturnURL}}">Back to the shop</a></p>{{end}}
{{end}}
</main></body></html>`))

type landingData struct {
	MSN, Amount, Description, Reference, Token, State, ReturnURL string
	Open                                                         bool
}

func formatAmount(a vipps.Amount) string {
	return fmt.Sprintf("%d.%02d %s", a.Value/100, a.Value%100, a.Currency)
}

// landingPage serves the stand-in for the Vipps landing page and app:
// GET /landing?token=T shows the payment with Approve and Reject; POST
// /landing/approve and /landing/reject act as the buyer and send the browser
// to the returnUrl, as Vipps does.
func (s *Simulator) landingPage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err == nil {
			token = r.PostForm.Get("token")
		}
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
		_ = s.approveLocked(p)
	case r.Method == http.MethodPost && r.URL.Path == "/landing/reject":
		_ = s.rejectLocked(p)
	case r.Method == http.MethodGet && r.URL.Path == "/landing":
		d := landingData{MSN: p.MSN, Amount: formatAmount(p.Req.Amount), Description: p.Req.PaymentDescription,
			Reference: p.Req.Reference, Token: token, State: string(p.State), ReturnURL: p.Req.ReturnURL, Open: p.State == vipps.StateCreated}
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
	s.mu.Unlock()
	s.wake()
	if ret == "" {
		http.Redirect(w, r, "/landing?token="+token, http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, ret, http.StatusSeeOther)
}
