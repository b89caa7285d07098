package registry

import (
	"fmt"
	"testing"
	"time"
)

// diff reports joins and changes in id order, then leaves in id order, and nothing
// for a heartbeat alone or for a problem whose wording changed.
func TestDiff(t *testing.T) {
	e := func(id, version string, healthy bool, problem string, beat int) Entry {
		return Entry{Instance: Instance{Name: "s", ID: id, URL: "http://h", Version: version, Metadata: map[string]string{}},
			Healthy: healthy, Problem: problem, HeartbeatAt: time.Unix(int64(beat), 0)}
	}
	for _, tc := range []struct {
		name      string
		before    []Entry
		now       []Entry
		want      string
		wantKnown int
	}{
		{"first read", nil, []Entry{e("a", "1", true, "", 1), e("b", "1", true, "", 1)}, "joined a, joined b", 2},
		{"heartbeat only", []Entry{e("a", "1", true, "", 1)}, []Entry{e("a", "1", true, "", 2)}, "", 1},
		{"new version", []Entry{e("a", "1", true, "", 1)}, []Entry{e("a", "2", true, "", 2)}, "changed a", 1},
		{"health bad", []Entry{e("a", "1", true, "", 1)}, []Entry{e("a", "1", false, "503", 2)}, "changed a", 1},
		{"problem reworded", []Entry{e("a", "1", false, "timeout after 1s", 1)}, []Entry{e("a", "1", false, "timeout after 2s", 2)}, "", 1},
		{"metadata", []Entry{e("a", "1", true, "", 1)}, []Entry{func() Entry {
			x := e("a", "1", true, "", 2)
			x.Metadata = map[string]string{"graphql": "true"}
			return x
		}()}, "changed a", 1},
		{"leaves in order", []Entry{e("c", "1", true, "", 1), e("a", "1", true, "", 1), e("b", "1", true, "", 1)}, []Entry{e("d", "1", true, "", 2)}, "joined d, left a, left b, left c", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			known := map[string]Entry{}
			diff(known, tc.before, time.Now())
			got := ""
			for i, ev := range diff(known, tc.now, time.Now()) {
				if i > 0 {
					got += ", "
				}
				got += fmt.Sprintf("%s %s", ev.Kind, ev.Entry.ID)
				if ev.Kind == Changed && ev.Previous.ID != ev.Entry.ID {
					t.Errorf("changed %s with previous %s", ev.Entry.ID, ev.Previous.ID)
				}
			}
			if got != tc.want || len(known) != tc.wantKnown {
				t.Fatalf("events %q, %d known; want %q, %d", got, len(known), tc.want, tc.wantKnown)
			}
		})
	}
}
