package bench

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/admitdev/admit"
)

// The generated event: one organizer, one event, two sections, one
// admission product, the default check-in list (one entry per ticket), and
// orders of one to four paid tickets with varied holder names, so that
// searches by name, email and order code find something.
const (
	Organizer   = "bench"
	productName = "Entry"
)

var firstNames = []string{
	"Alice", "Bruno", "Chloé", "Dmitri", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jonas",
	"Kaito", "Lena", "Malik", "Nora", "Oscar", "Priya", "Quentin", "Rosa", "Samir", "Tilde",
	"Ugo", "Vera", "Wim", "Xenia", "Yusuf", "Zoé", "Amara", "Bastien", "Carmen", "Diego",
	"Eva", "Felix", "Gina", "Henrik", "Ilse", "Jamal", "Katja", "Luca", "Mina", "Nils",
}

var lastNames = []string{
	"Abadie", "Bauer", "Castillo", "Dubois", "Eriksen", "Fontaine", "García", "Hoffmann", "Ivanova", "Jansen",
	"Kowalski", "Laurent", "Moreau", "Nakamura", "Okafor", "Petit", "Quinn", "Rossi", "Schmidt", "Tanaka",
	"Ullmann", "Vasquez", "Weber", "Xu", "Yilmaz", "Zimmermann", "Arnaud", "Bernard", "Costa", "Dupont",
	"Engel", "Fischer", "Gauthier", "Horvat", "Iglesias", "Jovanović", "Keller", "Lindqvist", "Martin", "Novak",
	"Olsen", "Peeters", "Richter", "Silva", "Tremblay", "Uchida", "Vogel", "Wagner", "Young", "Zanetti",
}

// OrderCode is the code of the i-th generated order: "B" and i in base 36,
// six characters at least.
func OrderCode(i int) string {
	s := strings.ToUpper(strconv.FormatInt(int64(i), 36))
	if len(s) < 5 {
		s = strings.Repeat("0", 5-len(s)) + s
	}
	return "B" + s
}

// holder returns the generated holder of ticket i.
func holder(i int) (first, last, email string) {
	// A multiplicative hash spreads the names so that neighbours differ.
	h := uint64(i)*0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019
	first = firstNames[h%uint64(len(firstNames))]
	last = lastNames[(h>>20)%uint64(len(lastNames))]
	email = strings.ToLower(asciiFold(first)+"."+asciiFold(last)) + "." + strconv.Itoa(i) + "@example.org"
	return first, last, email
}

func asciiFold(s string) string {
	return strings.NewReplacer("é", "e", "í", "i", "ć", "c", "á", "a").Replace(s)
}

// GenerateImport returns a validated import file of one event with n
// tickets in orders of one to four, under organizer "bench".
func GenerateImport(n int, eventSlug string) (*admit.ImportFile, error) {
	if n < 1 {
		return nil, admit.Errorf(admit.EInvalid, "a benchmark event needs at least one ticket")
	}
	f := &admit.ImportFile{
		Organizer: admit.ImportOrganizer{Slug: Organizer, Name: "Benchmark Organizer", Domain: "bench.example.org"},
		Event: admit.ImportEvent{
			Slug: eventSlug, Name: "Benchmark " + eventSlug,
			DateFrom: "2026-01-01T00:00:00Z", DateTo: "2036-01-01T00:00:00Z", Timezone: "UTC",
		},
		Sections: []admit.ImportSection{{Name: "Floor", Description: "Standing area"}, {Name: "Balcony", Description: "Seated"}},
		Products: []admit.ImportProduct{{Name: productName}},
		Lists:    []admit.ImportList{{Name: "Main entrance", Default: true}},
		Orders:   make([]admit.ImportOrder, 0, n*2/5+1),
	}
	prices := []string{"General Admission", "Early Bird", "Reduced", "VIP"}
	for i, o := 0, 0; i < n; o++ {
		size := min(1+o%4, n-i)
		first, last, email := holder(i)
		ord := admit.ImportOrder{
			Code: OrderCode(o), Status: string(admit.OrderPaid), Email: email, Name: first + " " + last,
			Tickets: make([]admit.ImportTicket, size),
		}
		for j := range size {
			tf, tl, te := holder(i + j)
			ord.Tickets[j] = admit.ImportTicket{
				Product: productName, Price: prices[(i+j)%len(prices)],
				FirstName: tf, LastName: tl, Email: te,
				Section: f.Sections[(i+j)%2].Name,
			}
		}
		f.Orders = append(f.Orders, ord)
		i += size
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return f, nil
}

// WriteImportJSON writes the import file of GenerateImport as JSON, for
// `admit import`.
func WriteImportJSON(w io.Writer, n int, eventSlug string) error {
	f, err := GenerateImport(n, eventSlug)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(f); err != nil {
		return fmt.Errorf("write import file: %w", err)
	}
	return nil
}

// WriteImportCSV writes the tickets of GenerateImport (the same orders,
// holders, prices and sections) as a CSV import file, one row per ticket,
// without holding them: for `admit import --csv` into an event created by
// WriteImportHeader.
func WriteImportCSV(w io.Writer, n int) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	cw := csv.NewWriter(bw)
	if err := cw.Write([]string{"order_code", "order_status", "order_email", "product", "first_name", "last_name", "email", "section", "price"}); err != nil {
		return err
	}
	prices := []string{"General Admission", "Early Bird", "Reduced", "VIP"}
	sections := []string{"Floor", "Balcony"}
	for i, o := 0, 0; i < n; o++ {
		size := min(1+o%4, n-i)
		_, _, email := holder(i)
		for j := range size {
			tf, tl, te := holder(i + j)
			if err := cw.Write([]string{OrderCode(o), "paid", email, productName, tf, tl, te, sections[(i+j)%2], prices[(i+j)%len(prices)]}); err != nil {
				return err
			}
		}
		i += size
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write import file: %w", err)
	}
	return bw.Flush()
}

// WriteImportHeader writes the generated event without orders, as JSON:
// the event a CSV file of WriteImportCSV goes into.
func WriteImportHeader(w io.Writer, eventSlug string) error {
	f, err := GenerateImport(1, eventSlug)
	if err != nil {
		return err
	}
	f.Orders = nil
	return json.NewEncoder(w).Encode(f)
}
