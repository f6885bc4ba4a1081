package main_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/admitdev/admit/admittest"
)

// Two `admit serve` nodes on one PostgreSQL database: 50 entries of 50
// tickets at once, split over both nodes, into a list of capacity 10 admit
// exactly 10. The place is claimed in the database, not in a node.
func TestTwoNodesShareACapacity(t *testing.T) {
	db := admittest.PostgresDSN(t)
	const tickets, capacity = 50, 10
	var ts []string
	for i := range tickets {
		ts = append(ts, fmt.Sprintf(`{"product": "Concert Ticket", "first_name": "Guest", "last_name": "%d", "section": "Floor"}`, i))
	}
	file := `{
  "organizer": {"slug": "capaorga", "name": "Capacity Organization"},
  "event": {"slug": "club", "name": "Small Club"},
  "sections": [{"name": "Floor"}],
  "products": [{"name": "Concert Ticket"}],
  "lists": [{"name": "Door", "default": true, "capacity": ` + fmt.Sprint(capacity) + `}],
  "orders": [{"code": "FULL", "status": "paid", "email": "full@example.org", "tickets": [` + strings.Join(ts, ",") + `]}]
}`
	var imp multiImport
	if err := cli(&imp, file, "import", "-", "--tickets", "--db", db); err != nil {
		t.Fatal(err)
	}
	if len(imp.Tickets) != tickets {
		t.Fatalf("import made %d tickets", len(imp.Tickets))
	}
	var nodes [2]*node
	var stdouts [2]io.Reader
	for i, name := range []string{"A", "B"} {
		n, stdout, err := launch(name, db)
		if err != nil {
			t.Fatal(err)
		}
		nodes[i], stdouts[i] = n, stdout
		t.Cleanup(func() {
			n.stop()
			if t.Failed() {
				t.Logf("node %s log:\n%s", n.name, n.logs())
			}
		})
	}
	for i := range nodes {
		if err := nodes[i].waitReady(stdouts[i], 60*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	var dev deviceOut
	if err := cli(&dev, "", "device", "create", "--db", db, "--organizer", "capaorga", "--name", "Door"); err != nil {
		t.Fatal(err)
	}
	key := pair(t, &server{URL: nodes[0].URL}, dev)

	res := together(t, tickets, func(i int) (answer, error) {
		return send(http.DefaultClient, "POST", nodes[i%2].URL+"/scan/ticket/",
			map[string]string{"qrcode_data": imp.Tickets[i].QRCodeData, "event_uuid": imp.Event.UUID}, apiKey(key)...)
	})
	admitted, full := 0, 0
	perNode := map[string]int{}
	for i, r := range res {
		m := r.obj()
		switch {
		case r.status == 200 && m["success"] == true && m["message"] == "Ticket successfully scanned":
			admitted++
			perNode[nodes[i%2].name]++
		case r.status == 200 && m["success"] == false && m["message"] == "Area full: no entry until someone leaves":
			full++
		default:
			t.Errorf("answer to scan %d: %v", i, r)
		}
	}
	if admitted != capacity || full != tickets-capacity {
		t.Fatalf("%d admitted (per node %v), %d refused as full: want exactly %d and %d", admitted, perNode, full, capacity, tickets-capacity)
	}
	t.Logf("admitted per node: %v", perNode)
}
