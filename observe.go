package admit

import (
	"context"
	"time"
)

// Observer is told what the core does, for metrics (package metrics). Its
// methods run on the request path: they must be quick and never block.
type Observer interface {
	// Redeemed is told of each Redeem that is not a dry run: the dialect
	// (RedeemRequest.Source), the scan's type, its result (a Reason, or
	// "error_" and the error's Code when Redeem failed), and how long
	// Redeem took.
	Redeemed(source string, typ ScanType, result string, d time.Duration)
	// Importing is told when an import begins (+1) and ends (-1).
	Importing(delta int)
	// Imported is told of the tickets of an import that committed (the
	// file's, created, changed or not).
	Imported(tickets int)
}

// Redeem is the one redeem decision for every dialect (see redeem); the
// Observer is told of each.
func (c *Core) Redeem(ctx context.Context, req *RedeemRequest) (*RedeemResult, error) {
	if c.Observer == nil || req.DryRun {
		return c.redeem(ctx, req)
	}
	start := time.Now()
	res, err := c.redeem(ctx, req)
	result := ""
	switch {
	case err != nil:
		result = "error_" + string(ErrorCode(err))
	case res != nil:
		result = string(res.Reason)
	}
	c.Observer.Redeemed(req.Source, req.Type, result, time.Since(start))
	return res, err
}

// CatalogStats counts the lookups of the catalog cache (events, lists,
// devices and their keys) since the core was made: answered from the cache
// (Hits), and loaded from the store (Misses).
type CatalogStats struct {
	Hits, Misses int64
}

// CatalogStats returns the catalog cache's counters.
func (c *Core) CatalogStats() CatalogStats {
	return CatalogStats{Hits: c.catalog.hits.Load(), Misses: c.catalog.misses.Load()}
}
