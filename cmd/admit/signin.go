package main

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/admitdev/admit"
)

// signinURL is the dashboard's one-time sign-in link of a token.
func signinURL(base, token string) string {
	return base + "/signin?token=" + url.QueryEscape(token)
}

// cmdSignin: admit signin --organizer SLUG [--event SLUG] [--public-url URL]
// → {"url": ..., "expires_at": ...}: a one-time sign-in link to the
// dashboard, valid 15 minutes; with --event (or when the organizer has one
// event) it lands on that event's live page.
func cmdSignin(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags("signin", env)
	db := dbFlag(fs, env)
	org := fs.String("organizer", "", "organizer slug")
	event := fs.String("event", "", "land on this event's live page (slug)")
	pub := fs.String("public-url", "", "public base URL of the server (env ADMIT_PUBLIC_URL)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return errUsage(fmt.Sprintf("signin takes no arguments, got %q", pos))
	}
	if err := requireFlag("organizer", *org); err != nil {
		return err
	}
	core, closeStore, err := openCore(ctx, env, *db, quietLogger(env))
	if err != nil {
		return err
	}
	defer closeStore()
	link, err := core.NewSigninLink(ctx, *org, *event)
	if err != nil {
		return err
	}
	return printJSON(env.stdout, signinOutput(publicURL(*pub, env, "127.0.0.1:8080"), link))
}

type signinLine struct {
	URL       string    `json:"url"`
	Organizer string    `json:"organizer"`
	Event     string    `json:"event,omitempty"`
	ExpiresAt time.Time `json:"expires_at"`
}

func signinOutput(base string, l *admit.SigninLink) signinLine {
	out := signinLine{URL: signinURL(base, l.Token), Organizer: l.Organizer.Slug, ExpiresAt: l.ExpiresAt}
	if l.Event != nil {
		out.Event = l.Event.Slug
	}
	return out
}

// signinLinks makes a sign-in link for every organizer of the database,
// for `admit serve` to print.
func signinLinks(ctx context.Context, core *admit.Core, base string) ([]signinLine, error) {
	orgs, err := core.Store.Organizers(ctx)
	if err != nil {
		return nil, err
	}
	var out []signinLine
	for _, o := range orgs {
		l, err := core.NewSigninLink(ctx, o.Slug, "")
		if err != nil {
			return nil, err
		}
		out = append(out, signinOutput(base, l))
	}
	return out, nil
}
