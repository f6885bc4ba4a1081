package admit

import "context"

// liveScan is what live subscribers see of a scan Redeem recorded, made of
// what the scan already holds: the ticket, event and list it read, the
// device it was given. The event of a scan that found no ticket comes from
// the catalog cache (a query only the first time per catalog version).
func (c *Core) liveScan(ctx context.Context, cv *catalogView, req *RedeemRequest, res *RedeemResult, sc *Scan, id int64) *LiveScan {
	ls := &LiveScan{
		ID: id, EventID: sc.EventID, ListID: sc.ListID,
		DeviceUUID: req.DeviceUUID, DeviceName: req.DeviceName,
		Source: req.Source, Type: req.Type, Result: res.Reason, Forced: res.Forced,
		Offline: req.Offline, Conflict: res.Conflict,
		DeviceTime: req.DeviceTime, ServerTime: sc.ServerTime,
	}
	if ls.DeviceUUID == "" && req.Scanner != nil {
		ls.DeviceUUID = req.Scanner.UUID
	}
	if ls.DeviceName == "" && req.Scanner != nil {
		ls.DeviceName = req.Scanner.Name
	}
	if t := res.Ticket; t != nil {
		ls.TicketUUID, ls.AttendeeName, ls.ProductName, ls.SectionName = t.UUID, t.AttendeeName(), t.ProductName, t.SectionName
	}
	if res.List != nil {
		ls.ListName = res.List.Name
	}
	switch {
	case res.Event != nil && res.Event.ID == sc.EventID:
		ls.EventUUID = res.Event.UUID
	default:
		if ev, err := cv.event(ctx, sc.EventID); err == nil {
			ls.EventUUID = ev.UUID
		} else {
			c.Log.Debug("live: event of a scan not found", "event", sc.EventID, "err", err)
		}
	}
	return ls
}
