package sqlstore

import (
	"context"
	"time"

	"github.com/admitdev/admit"
)

// What admit's own API lists and changes beside the scan path: an
// organizer's devices with their activity, and a ticket's block.

// Devices lists an organizer's devices, oldest first; see admit.Store.
func (s *Store) Devices(ctx context.Context, organizerID int64) ([]*admit.Device, error) {
	rows, err := s.reader().query(ctx, `SELECT `+deviceCols+` FROM devices WHERE organizer_id = $1 ORDER BY id`, organizerID)
	if err != nil {
		return nil, s.dbErr(err, "devices")
	}
	defer rows.Close()
	var out []*admit.Device
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, s.dbErr(err, "devices")
		}
		out = append(out, d)
	}
	return out, s.dbErr(rows.Err(), "devices")
}

// DeviceActivity counts each device's scans of an event in the scan log;
// see admit.Store.
func (s *Store) DeviceActivity(ctx context.Context, eventID int64) ([]admit.DeviceActivity, error) {
	rows, err := s.reader().query(ctx, `SELECT device_id, MAX(server_time), COUNT(*),
		SUM(CASE WHEN result = 'ok' THEN 0 ELSE 1 END)
		FROM scans WHERE event_id = $1 AND device_id IS NOT NULL GROUP BY device_id ORDER BY device_id`, eventID)
	if err != nil {
		return nil, s.dbErr(err, "device activity")
	}
	defer rows.Close()
	var out []admit.DeviceActivity
	for rows.Next() {
		var a admit.DeviceActivity
		if err := rows.Scan(&a.DeviceID, tm{&a.LastSeen}, &a.Scans, &a.Refusals); err != nil {
			return nil, s.dbErr(err, "device activity")
		}
		out = append(out, a)
	}
	return out, s.dbErr(rows.Err(), "device activity")
}

// SetTicketBlocked blocks or unblocks a ticket; see admit.Store.
func (s *Store) SetTicketBlocked(ctx context.Context, ticketID int64, blocked bool, at time.Time) (*admit.Ticket, error) {
	err := s.inTx(ctx, "block ticket", func(x dbx) error {
		res, err := x.exec(ctx, `UPDATE tickets SET blocked = $2, updated_at = $3 WHERE id = $1 AND blocked <> $2`,
			ticketID, blocked, s.ts(at))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 1 {
			// Cores keep tickets in memory for one tickets version.
			return bumpTickets(ctx, x)
		}
		var one int
		return x.row(ctx, `SELECT 1 FROM tickets WHERE id = $1`, ticketID).Scan(&one)
	})
	if err != nil {
		return nil, s.dbErr(err, "ticket")
	}
	return s.oneTicket(ctx, `t.id = $1`, ticketID)
}
