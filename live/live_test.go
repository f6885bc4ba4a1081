package live_test

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/live"
)

func scan(event, id int64) *admit.LiveScan {
	return &admit.LiveScan{ID: id, EventID: event, Result: admit.ReasonOK, Type: admit.ScanEntry, ServerTime: time.Now()}
}

// recv reads n scans from ch; the channel must already hold them (Publish
// hands them over before it returns).
func recv(t *testing.T, ch <-chan *admit.LiveScan, n int) []int64 {
	t.Helper()
	var ids []int64
	for range n {
		select {
		case s, ok := <-ch:
			if !ok {
				t.Fatalf("channel closed after %d scans, want %d", len(ids), n)
			}
			ids = append(ids, s.ID)
		default:
			t.Fatalf("got %d scans, want %d", len(ids), n)
		}
	}
	select {
	case s, ok := <-ch:
		if ok {
			t.Fatalf("an extra scan %d", s.ID)
		}
		t.Fatalf("channel closed")
	default:
	}
	return ids
}

func TestHubFansOutToEverySubscriberOfTheEvent(t *testing.T) {
	h := live.NewHub(16, nil)
	a1, stop1 := h.Subscribe(1)
	defer stop1()
	a2, stop2 := h.Subscribe(1)
	defer stop2()
	b, stopB := h.Subscribe(2)
	defer stopB()

	h.Publish(scan(1, 10))
	h.Publish(scan(2, 20))
	h.Publish(scan(1, 11))
	h.Publish(scan(3, 30)) // nobody listens
	h.Publish(nil)

	for name, ch := range map[string]<-chan *admit.LiveScan{"a1": a1, "a2": a2} {
		if got := recv(t, ch, 2); got[0] != 10 || got[1] != 11 {
			t.Errorf("%s got %v, want [10 11]", name, got)
		}
	}
	if got := recv(t, b, 1); got[0] != 20 {
		t.Errorf("b got %v, want [20]", got)
	}
	if st := h.Stats(); st.Published != 4 || st.Dropped != 0 || st.Subscribers != 3 {
		t.Errorf("stats %+v", st)
	}
}

func TestHubUnsubscribeClosesOnceAndStopsDelivery(t *testing.T) {
	h := live.NewHub(4, nil)
	ch, stop := h.Subscribe(1)
	other, stopOther := h.Subscribe(1)
	defer stopOther()
	stop()
	stop() // idempotent
	if _, ok := <-ch; ok {
		t.Fatal("unsubscribed channel delivered a scan")
	}
	h.Publish(scan(1, 1))
	recv(t, other, 1)
	if st := h.Stats(); st.Subscribers != 1 || st.Dropped != 0 {
		t.Errorf("stats %+v", st)
	}
}

// A subscriber that never reads is dropped without slowing the publisher:
// 10,000 scans all go out, the stuck subscriber's channel is closed after
// its buffer, and a reading subscriber of the same event sees them all.
func TestHubDropsASlowSubscriberWithoutBlocking(t *testing.T) {
	const n, buffer = 10000, 8
	h := live.NewHub(buffer, nil)
	stuck, stopStuck := h.Subscribe(1)
	defer stopStuck()
	reader, stopReader := h.Subscribe(1)
	defer stopReader()

	var got []int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for s := range reader {
			got = append(got, s.ID)
			if len(got) == n {
				return
			}
		}
	}()
	// The reader must keep up for this test: publish in steps of its
	// buffer, waiting for it to drain (the stuck one never does).
	for i := range int64(n) {
		h.Publish(scan(1, i))
		if i%buffer == buffer-1 {
			for len(reader) > 0 {
				runtime.Gosched()
			}
		}
	}
	<-done // publishing finished and the reader has every scan
	if len(got) != n || got[0] != 0 || got[n-1] != n-1 {
		t.Fatalf("reader got %d scans", len(got))
	}

	var held int
	for range stuck {
		held++
	}
	// The loop ended: the stuck subscriber's channel was closed, after
	// what its buffer held.
	if held != buffer {
		t.Errorf("stuck subscriber held %d scans, want %d", held, buffer)
	}
	if st := h.Stats(); st.Dropped != 1 || st.Published != n || st.Subscribers != 1 {
		t.Errorf("stats %+v", st)
	}
	stopStuck() // already dropped: a no-op
}

// 10,000 scans to a subscriber that never reads, no other subscriber: the
// publisher finishes and the subscriber is dropped.
func TestHubPublishNeverWaitsForAStuckSubscriber(t *testing.T) {
	h := live.NewHub(0, nil)
	stuck, stop := h.Subscribe(7)
	defer stop()
	for i := range int64(10000) {
		h.Publish(scan(7, i))
	}
	var held int
	for range stuck {
		held++
	}
	if held != live.DefaultBuffer {
		t.Errorf("held %d, want %d", held, live.DefaultBuffer)
	}
	if st := h.Stats(); st.Dropped != 1 || st.Subscribers != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestHubCloseEndsEverySubscription(t *testing.T) {
	h := live.NewHub(4, nil)
	a, stopA := h.Subscribe(1)
	b, _ := h.Subscribe(2)
	h.Publish(scan(1, 1))
	h.Close()
	h.Close()
	stopA() // after Close: a no-op
	if s, ok := <-a; !ok || s.ID != 1 {
		t.Fatalf("buffered scan lost at Close")
	}
	if _, ok := <-a; ok {
		t.Fatal("a still open")
	}
	if _, ok := <-b; ok {
		t.Fatal("b still open")
	}
	h.Publish(scan(1, 2)) // no panic, nothing delivered
	c, stopC := h.Subscribe(1)
	stopC()
	if _, ok := <-c; ok {
		t.Fatal("a subscription after Close is open")
	}
}

// Many subscribers come and go while scans are published from several
// goroutines, some reading, some not (dropped), some unsubscribing while
// they are being dropped: no panic, no race (-race), every subscription
// ends with its channel closed, and no goroutine is left behind.
func TestHubSubscribeUnsubscribeUnderPublish(t *testing.T) {
	before := runtime.NumGoroutine()
	h := live.NewHub(4, nil)
	stop := make(chan struct{})
	var pubs sync.WaitGroup
	for p := range 4 {
		pubs.Add(1)
		go func() {
			defer pubs.Done()
			for i := int64(0); ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				h.Publish(scan(i%3, int64(p)<<32|i))
			}
		}()
	}
	var subs sync.WaitGroup
	for w := range 8 {
		subs.Add(1)
		go func() {
			defer subs.Done()
			for i := range 150 {
				ch, unsub := h.Subscribe(int64((w + i) % 3))
				switch i % 3 {
				case 0: // read a few, then leave
					for range 3 {
						if _, ok := <-ch; !ok {
							break
						}
					}
					unsub()
				case 1: // never read: dropped, or unsubscribed at the same time
					go unsub()
					unsub()
				case 2: // read until dropped or left
					n := 0
					for range ch {
						if n++; n == 50 {
							unsub()
						}
					}
					unsub()
				}
				// Whatever happened, the channel ends closed.
				for range ch {
				}
			}
		}()
	}
	subs.Wait()
	close(stop)
	pubs.Wait()
	if st := h.Stats(); st.Subscribers != 0 {
		t.Errorf("%d subscriptions left", st.Subscribers)
	}
	h.Close()
	// The test's goroutines have returned; wait for them to be gone. A hub
	// has none of its own.
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines, %d before", n, before)
	}
}

func TestThrottleAllowsOnePerPeriod(t *testing.T) {
	th := live.Throttle{Every: time.Hour}
	if !th.Allow() {
		t.Fatal("first not allowed")
	}
	for range 100 {
		if th.Allow() {
			t.Fatal("a second one allowed within the period")
		}
	}
	var every live.Throttle
	if !every.Allow() || !every.Allow() {
		t.Fatal("zero Every must allow every one")
	}
}
