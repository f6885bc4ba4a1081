package bench

import (
	"encoding/json"
	"io"
	"net/http/httptest"
	"testing"
)

// The JSON encoding of a scan's answer, as a dialect writes it to the
// response: TiBillet's {"success", "message"} and pretixdroid's redeem
// answer with its "data" object.

type tibilletScanAnswer struct {
	Success bool   `json:"success"`
	Message string `json:"message"`
}

type pretixPosition struct {
	Secret         string  `json:"secret"`
	Order          string  `json:"order"`
	Item           string  `json:"item"`
	ItemID         int64   `json:"item_id"`
	Variation      *string `json:"variation"`
	VariationID    *int64  `json:"variation_id"`
	AttendeeName   string  `json:"attendee_name"`
	Attention      bool    `json:"attention"`
	Redeemed       bool    `json:"redeemed"`
	Paid           bool    `json:"paid"`
	CheckinAllowed bool    `json:"checkin_allowed"`
	AddonsText     string  `json:"addons_text"`
}

type pretixRedeemAnswer struct {
	Status  string          `json:"status"`
	Reason  string          `json:"reason,omitempty"`
	Version int             `json:"version"`
	Data    *pretixPosition `json:"data,omitempty"`
}

func BenchmarkEncodeTiBilletScanAnswer(b *testing.B) {
	a := tibilletScanAnswer{Success: true, Message: "Ticket successfully scanned"}
	b.ReportAllocs()
	for b.Loop() {
		if err := json.NewEncoder(io.Discard).Encode(&a); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeTiBilletScanAnswerResponse includes what writing it as an
// HTTP response adds: the header and the response writer.
func BenchmarkEncodeTiBilletScanAnswerResponse(b *testing.B) {
	a := tibilletScanAnswer{Success: false, Message: "Ticket already scanned"}
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(200)
		if err := json.NewEncoder(w).Encode(&a); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodePretixdroidRedeemAnswer(b *testing.B) {
	a := pretixRedeemAnswer{Status: "error", Reason: "already_redeemed", Version: 3, Data: &pretixPosition{
		Secret: "az9u4mymhqktrbupmwt4ekbn4ek73bea", Order: "B0001A", Item: "Entry", ItemID: 1,
		AttendeeName: "Alice Bauer", Redeemed: true, Paid: true, CheckinAllowed: true,
	}}
	b.ReportAllocs()
	for b.Loop() {
		if err := json.NewEncoder(io.Discard).Encode(&a); err != nil {
			b.Fatal(err)
		}
	}
}
