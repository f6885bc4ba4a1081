package pretixdroid

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/admitdev/admit"
)

// The JSON encoding of a redeem answer with its "data", with the dialect's
// own types and writer. (An internal test: the answer types are unexported.)
func BenchmarkEncodeRedeemAnswer(b *testing.B) {
	h := &Handler{}
	t := &admit.Ticket{Secret: "az9u4mymhqktrbupmwt4ekbn4ek73bea", OrderCode: "B0001A", ProductName: "Entry",
		ProductID: 1, FirstName: "Alice", LastName: "Bauer", OrderStatus: admit.OrderPaid}
	st := &admit.CheckinState{Entries: 1, Inside: true, FirstAt: time.Now()}
	b.ReportAllocs()
	for b.Loop() {
		p := positionOf(t, st, true, "")
		w := httptest.NewRecorder()
		if err := h.writeJSON(w, redeemAnswer{Status: "error", Reason: wireAlreadyRedeemed, Version: APIVersion, Data: &p}); err != nil {
			b.Fatal(err)
		}
	}
}
