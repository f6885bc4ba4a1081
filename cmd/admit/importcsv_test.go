package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// admit import --csv into the event a JSON import made, with a mapping of
// the shop's headers; --tickets lists the rows' tickets in the file's
// order; a re-import changes nothing; a bad row imports nothing.
func TestImportCSVCommand(t *testing.T) {
	db := filepath.Join(t.TempDir(), "admit.db")
	var imp importOut
	admitJSON(t, &imp, `{"organizer": {"slug": "shop"}, "event": {"slug": "gig"}, "products": [{"name": "Pass"}]}`, "import", "-", "--db", db)
	csv := filepath.Join(t.TempDir(), "orders.csv")
	rows := "Order number,order_status,product,first_name,last_name,E-mail,Total\n" +
		"Q1,paid,Pass,Ada,L,ada@example.org,5\n" +
		"Q1,paid,Balcony,Bob,B,bob@example.org,5\n" +
		"Q2,paid,Pass,Cy,Y,cy@example.org,5\n"
	if err := os.WriteFile(csv, []byte(rows), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"import", "--csv", csv, "--event", "shop/gig", "--map", "order_code=Order number,email=E-mail", "--ignore", "Total", "--db", db, "--tickets"}
	var out importOut
	admitJSON(t, &out, "", args...)
	if out.Counts.Orders != 2 || out.Counts.Tickets != 3 || out.Counts.Created != 3 || out.Event.ID != imp.Event.ID || len(out.Tickets) != 3 {
		t.Fatalf("output %+v", out)
	}
	for i, order := range []string{"Q1", "Q1", "Q2"} {
		if out.Tickets[i].Order != order || out.Tickets[i].QRCodeData == "" {
			t.Errorf("ticket %d: %+v", i, out.Tickets[i])
		}
	}
	var again importOut
	admitJSON(t, &again, "", args...)
	if again.Counts.Unchanged != 3 || again.Counts.Created != 0 {
		t.Errorf("re-import counts %+v", again.Counts)
	}
	for i := range out.Tickets {
		if out.Tickets[i] != again.Tickets[i] {
			t.Errorf("ticket %d changed on re-import", i)
		}
	}
	if err := os.WriteFile(csv, []byte(rows+"Q3,paid,Pass,Dan,D,dan@example.org,5\nQ4,paid,,Eve,E,eve@example.org,5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runCLI(t, "", args...)
	if code == 0 || !strings.Contains(stderr, "row 6, column product: required") || stdout != "" {
		t.Fatalf("bad row: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	// The same rows fixed: the refused import left nothing of Q3 and Q4.
	if err := os.WriteFile(csv, []byte(rows+"Q3,paid,Pass,Dan,D,dan@example.org,5\nQ4,paid,Pass,Eve,E,eve@example.org,5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var after importOut
	admitJSON(t, &after, "", args[:len(args)-1]...)
	if after.Counts.Created != 2 || after.Counts.Unchanged != 3 {
		t.Errorf("the refused import left tickets: %+v", after.Counts)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"import", "--csv", csv, "--db", db}, "--csv needs --event ORGANIZER/EVENT"},
		{[]string{"import", "--csv", csv, "--event", "shop/none", "--db", db}, `unknown event "none" of organizer "shop"`},
		{[]string{"import", "--csv", csv, "--event", "shop/gig", "--map", "order_code", "--db", db}, `--map: "order_code" is not column=header`},
		{[]string{"import", csv, "--event", "shop/gig", "--db", db}, "--event, --map and --ignore go with --csv"},
	} {
		_, stderr, code := runCLI(t, "", c.args...)
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("admit %v: exit %d, stderr %q, want %q", c.args, code, stderr, c.want)
		}
	}
}
