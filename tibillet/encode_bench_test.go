package tibillet

import (
	"net/http/httptest"
	"testing"
)

// The JSON encoding of a scan's answer, with the dialect's own types and
// writer, as POST /scan/ticket/ sends it. (An internal test: the answer
// types are the dialect's own, unexported.)
func BenchmarkEncodeScanAnswer(b *testing.B) {
	price, product := "General Admission", "Concert Ticket"
	a := scanAnswer{
		Success: false, Message: msgAlreadyScanned,
		Ticket: ticketBlock{UUID: "6f1c2b9e-0000-4000-8000-000000000001", Status: statusScanned,
			Event: "Example Event", FirstName: "John", LastName: "Doe", Price: &price, Product: &product,
			ScannedBy: scannedBy{present: true, uuid: "98765432-9876-5432-9876-543298765432"}},
		Reservation: reservationBlock{UUID: "87654321-8765-4321-8765-432187654321", TicketsCount: 2},
	}
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		writeJSON(w, 200, &a)
		if w.Body.Len() == 0 {
			b.Fatal("nothing written")
		}
	}
}
