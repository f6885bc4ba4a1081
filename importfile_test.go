package admit_test

import (
	"strings"
	"testing"

	"github.com/admitdev/admit"
)

func TestImportCapacity(t *testing.T) {
	file := func(list, section string) string {
		return `{"organizer": {"slug": "o"}, "event": {"slug": "e"}, "sections": [{"name": "Floor"` + section + `}],
			"lists": [{"name": "Door"` + list + `}]}`
	}
	for _, tc := range []struct {
		name, list, section string
		err                 string // "" valid
		listCap, sectionCap *int
	}{
		{name: "absent is no limit"},
		{name: "null is no limit", list: `, "capacity": null`, section: `, "capacity": null`},
		{name: "whole numbers", list: `, "capacity": 250`, section: `, "capacity": 0`, listCap: ptr(250), sectionCap: ptr(0)},
		{name: "negative", list: `, "capacity": -1`, err: "lists[0].capacity: must be a whole number"},
		{name: "fraction", section: `, "capacity": 2.5`, err: "sections[0].capacity: must be a whole number"},
		{name: "exponent", list: `, "capacity": 1e3`, err: "lists[0].capacity: must be a whole number"},
		{name: "string", list: `, "capacity": "10"`, err: "lists[0].capacity: must be a whole number"},
		{name: "too large", section: `, "capacity": 10000000000`, err: "sections[0].capacity: must be a whole number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := admit.ParseImport(strings.NewReader(file(tc.list, tc.section)))
			if tc.err != "" {
				if admit.ErrorCode(err) != admit.EInvalid || !strings.Contains(admit.ErrorMessage(err), tc.err) {
					t.Fatalf("error %v, want EInvalid containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !sameInt(f.Lists[0].Capacity, tc.listCap) || !sameInt(f.Sections[0].Capacity, tc.sectionCap) {
				t.Errorf("capacities %v %v", f.Lists[0].Capacity, f.Sections[0].Capacity)
			}
		})
	}
}

func ptr(n int) *int { return &n }

func sameInt(a, b *int) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
