package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// In Chromium: a sign-in link signs in (its page's script sends the form)
// and lands on the event's live page; the session cookie is HttpOnly and
// SameSite=Strict; a used link gets a clear page. Screenshots of the
// sign-in pages at phone and desktop size.
func TestBrowserSignin(t *testing.T) {
	f := start(t)
	b := newBrowser(t, browserOpt{})

	b.must("sign-in form", phone(), chromedp.Navigate(f.env.URL+"/signin"), chromedp.WaitVisible("#key"))
	b.shot("signin-phone")
	b.must("desktop", desktop())
	b.shot("signin-desktop")

	link := f.signinLink(t, "")
	b.must("open the sign-in link", chromedp.Navigate(link))
	b.waitFor("the live page", `location.pathname === "/events/`+f.res.Event.UUID+`" && !!document.querySelector("#lists")`, 10*time.Second)
	if h1 := eval[string](b, `document.querySelector("h1").textContent`); h1 != "Summer Fest" {
		t.Fatalf("landed on %q", h1)
	}
	cookies, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{f.env.URL}})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range cookies.Cookies {
		if c.Name == "admit_session" {
			found = true
			if !c.HTTPOnly || c.SameSite != network.CookieSameSiteStrict {
				t.Errorf("session cookie %+v: want HttpOnly and SameSite=Strict", c)
			}
		}
	}
	if !found {
		t.Fatal("no session cookie in the browser")
	}
	if js := eval[bool](b, `document.cookie.includes("admit_session")`); js {
		t.Error("the page's script can read the session cookie")
	}
	b.clean()

	b.must("the used link again", phone(), chromedp.Navigate(link), chromedp.WaitVisible(".error-page"))
	if text := eval[string](b, `document.querySelector("main").innerText`); !strings.Contains(text, "already used") {
		t.Fatalf("used link page: %q", text)
	}
	b.shot("signin-used-link-phone")
	b.must("a wrong link", chromedp.Navigate(f.env.URL+"/signin?token=wrong"), chromedp.WaitVisible(".error-page"))
	if text := eval[string](b, `document.querySelector("main").innerText`); !strings.Contains(text, "not valid") {
		t.Fatalf("wrong link page: %q", text)
	}
	b.clean()
}
