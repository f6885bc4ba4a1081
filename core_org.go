package admit

import "context"

// OrganizerBySlug returns the organizer with the slug, from the catalog
// cache (no query once it is known); an unknown slug is looked up again on
// the current catalog before it is ENotFound. For doors whose URLs name the
// organizer: the check runs on every request, scans included.
func (c *Core) OrganizerBySlug(ctx context.Context, slug string) (*Organizer, error) {
	if slug == "" {
		return nil, Errorf(ENotFound, "unknown organizer")
	}
	cv, err := c.lastView(ctx)
	if err != nil {
		return nil, err
	}
	o, err := cv.organizerBySlug(ctx, slug)
	if !IsNotFound(err) {
		return o, err
	}
	now, verr := c.view(ctx)
	if verr != nil {
		return nil, verr
	}
	if now.version() != cv.version() {
		o, err = now.organizerBySlug(ctx, slug)
	}
	if IsNotFound(err) {
		return nil, Errorf(ENotFound, "unknown organizer %q", slug)
	}
	return o, err
}
