package admit

import (
	"context"
	"sync"
	"time"
)

// Guessing API keys and pairing tokens is limited per client address, as
// guessing admission token codes is (LoginWithCode): after SecretGuessLimit
// wrong keys or pairing tokens within one fixed window of SecretGuessWindow,
// every key and pairing token from that address is refused (ERateLimited,
// 429) until the window has passed, right ones included, else the limit
// would still answer which guesses are right. The misses are counted in the
// store (Store.Hit), so the limit holds across every node on the database.
// A right key costs no write: a node refuses it only once it has counted a
// miss over the limit for its address (kept in memory until the window
// ends), so an attacker spread over nodes is stopped on each node at its
// first miss after the limit. The limit is higher than the code limit: many
// scanners may share one address (a venue's NAT), and one of them retrying
// a wrong key must not lock the others out.
const (
	SecretGuessLimit  = 60
	SecretGuessWindow = time.Minute
)

type clientKey struct{}

// WithClient returns ctx carrying the network address of the request's
// client, which the guessing limits count by. The server sets it for every
// request; without it (the CLI, tests calling the core) nothing is limited.
func WithClient(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientKey{}, addr)
}

// ClientOf returns the client address carried by ctx, "" for none.
func ClientOf(ctx context.Context) string {
	s, _ := ctx.Value(clientKey{}).(string)
	return s
}

// guessLimiter remembers, per node, the clients over the secret guessing
// limit and until when. The counting itself is the store's.
type guessLimiter struct {
	mu      sync.Mutex
	blocked map[string]time.Time // client → end of its window
}

// maxBlocked bounds the clients remembered; past it, expired ones are
// dropped, then the map is cleared (the store still counts: a client over
// the limit is blocked again at its next miss).
const maxBlocked = 10000

func (g *guessLimiter) isBlocked(client string, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	until, ok := g.blocked[client]
	if ok && !now.Before(until) {
		delete(g.blocked, client)
		return false
	}
	return ok
}

func (g *guessLimiter) block(client string, now, until time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.blocked == nil {
		g.blocked = map[string]time.Time{}
	}
	if len(g.blocked) >= maxBlocked {
		for c, u := range g.blocked {
			if !now.Before(u) {
				delete(g.blocked, c)
			}
		}
		if len(g.blocked) >= maxBlocked {
			clear(g.blocked)
		}
	}
	g.blocked[client] = until
}

// secretGuessAllowed refuses a client over the limit before its key or
// pairing token is even looked at.
func (c *Core) secretGuessAllowed(ctx context.Context) error {
	client := ClientOf(ctx)
	if client == "" || !c.guesses.isBlocked(client, c.now()) {
		return nil
	}
	return errTooManySecrets()
}

// secretMiss counts a wrong key or pairing token of ctx's client and
// returns ERateLimited once the client is over the limit, else refusal.
func (c *Core) secretMiss(ctx context.Context, refusal error) error {
	client := ClientOf(ctx)
	if client == "" {
		return refusal
	}
	now := c.now()
	// The count is not the request's: a client that gives up does not
	// undo its miss.
	n, err := c.Store.Hit(context.WithoutCancel(ctx), "secret-guess:"+client, now, SecretGuessWindow)
	if err != nil {
		return err
	}
	if n > SecretGuessLimit {
		c.guesses.block(client, now, now.Truncate(SecretGuessWindow).Add(SecretGuessWindow))
		return errTooManySecrets()
	}
	return refusal
}

func errTooManySecrets() error {
	return Errorf(ERateLimited, "Too many wrong keys or pairing tokens from this address: try again in a minute")
}

// RetryAfter is the number of seconds until the current guessing window
// (of CodeGuessWindow and SecretGuessWindow, both a minute) ends, for a
// 429's Retry-After.
func RetryAfter(now time.Time) int {
	end := now.Truncate(SecretGuessWindow).Add(SecretGuessWindow)
	return max(1, int(end.Sub(now).Seconds()+0.999))
}
