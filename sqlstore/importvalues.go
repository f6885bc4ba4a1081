// Values an import makes or keeps: its sets of row ids, the pools of random
// values (drawn in ascending runs), the new tickets' generated fields, and
// the QR codes signed in parallel while the rows go in.

package sqlstore

import (
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/admitdev/admit"
)

// idSet is a set of row ids: the rows the import created, as runs of
// consecutive ids (their ids come in ascending order: one run on SQLite,
// and on PostgreSQL unless a concurrent transaction takes ids between
// two of its inserts), and stored rows, a bit each in pages of 65,536 ids.
// An import that only creates rows keeps a few bytes, whatever its size;
// one that matches stored rows a bit per row id at most (125 kB a
// million).
type idSet struct {
	runs []idRun // ascending, disjoint
	bits map[int64]*[1024]uint64
}

type idRun struct{ lo, hi int64 }

func (s *idSet) has(id int64) bool {
	i := sort.Search(len(s.runs), func(i int) bool { return s.runs[i].hi >= id })
	if i < len(s.runs) && s.runs[i].lo <= id {
		return true
	}
	p := s.bits[id>>16]
	return p != nil && p[(id>>6)&1023]&(1<<(id&63)) != 0
}

// addCreated adds the id of a row the import created, above the ones it
// created before.
func (s *idSet) addCreated(id int64) {
	if n := len(s.runs); n > 0 && id <= s.runs[n-1].hi+1 {
		if id == s.runs[n-1].hi+1 {
			s.runs[n-1].hi = id
			return
		}
		if id >= s.runs[n-1].lo {
			return
		}
		s.add(id) // out of order: not expected, but kept right
		return
	}
	s.runs = append(s.runs, idRun{id, id})
}

// add adds the id of a stored row.
func (s *idSet) add(id int64) {
	if s.bits == nil {
		s.bits = map[int64]*[1024]uint64{}
	}
	p := s.bits[id>>16]
	if p == nil {
		p = new([1024]uint64)
		s.bits[id>>16] = p
	}
	p[(id>>6)&1023] |= 1 << (id & 63)
}

// pool hands out new random values of a column in ascending order, drawn
// poolSize at a time on every CPU.
//
// Each value is drawn as randomly as ever, but sorting a run costs some of
// its unpredictability: a value's neighbour lies above it within about
// 1/65,536 of the space, and the first values a small import takes are
// among a run's lowest (their first characters zeros). That is about 16
// bits (log2 of poolSize) of the 122 of a uuid or 165 of a secret, which
// leaves a secret some 149. In return the unique indexes on them are
// written in ascending runs of poolSize rather than all over, which halves
// the time of a large import (measured when the whole import was one run;
// a run of 65,536 keeps the memory bounded).
type pool struct {
	draw func() string
	vals []string
	i    int
}

const poolSize = 1 << 16

func (im *importer) next(name string, draw func() string) string {
	p := im.pools[name]
	if p == nil {
		if im.pools == nil {
			im.pools = map[string]*pool{}
		}
		p = &pool{draw: draw}
		im.pools[name] = p
	}
	if p.i == len(p.vals) {
		if p.vals == nil {
			p.vals = make([]string, poolSize)
		}
		parallel(len(p.vals), func(lo, hi int) error {
			for k := lo; k < hi; k++ {
				p.vals[k] = p.draw()
			}
			return nil
		})
		slices.Sort(p.vals)
		p.i = 0
	}
	p.i++
	return p.vals[p.i-1]
}

// generate makes the uuid, secret and serial of the new tickets the file
// does not give, from the pools (ascending, see pool).
func (im *importer) generate(items []item, fresh []int) {
	for _, i := range fresh {
		ft := items[i].ft
		t := &admit.Ticket{UUID: ft.UUID, Secret: ft.Secret, Serial: ft.Serial, CreatedAt: im.now, UpdatedAt: im.now}
		if t.UUID == "" {
			t.UUID = im.next("uuid", admit.NewUUID)
		}
		if t.Secret == "" {
			t.Secret = im.next("secret", admit.NewTicketSecret)
		}
		if t.Serial == "" {
			t.Serial = im.next("serial", admit.NewSerial)
		}
		items[i].t = t
	}
}

// signing is the QR codes of the new tickets being signed, in chunks, in
// the order of fresh.
type signing struct {
	done    []chan struct{} // closed when its chunk is signed
	err     []error         // its chunk's error
	stopped atomic.Bool
}

const signChunk = 512

// sign starts signing the new tickets' QR codes on every CPU.
func (im *importer) sign(items []item, fresh []int) *signing {
	sg := &signing{}
	if im.opts.Sign == nil {
		return sg
	}
	n := (len(fresh) + signChunk - 1) / signChunk
	sg.done, sg.err = make([]chan struct{}, n), make([]error, n)
	for c := range sg.done {
		sg.done[c] = make(chan struct{})
	}
	var next atomic.Int64
	for range min(im.signers(), n) {
		go func() {
			for {
				c := int(next.Add(1) - 1)
				if c >= n {
					return
				}
				if !sg.stopped.Load() {
					for _, i := range fresh[c*signChunk : min((c+1)*signChunk, len(fresh))] {
						t := items[i].t
						qr, err := im.opts.Sign(im.ev, t.UUID)
						if err != nil {
							sg.err[c] = err
							break
						}
						t.QRCode = qr
					}
				}
				close(sg.done[c])
			}
		}()
	}
	return sg
}

// wait waits for the k-th new ticket's QR code.
func (sg *signing) wait(k int) error {
	if sg.done == nil {
		return nil
	}
	c := k / signChunk
	<-sg.done[c]
	return sg.err[c]
}

// stop tells the signers to skip what is left and waits for them.
func (sg *signing) stop() {
	sg.stopped.Store(true)
	for _, d := range sg.done {
		<-d
	}
}

// parallel runs fn on n items split in ranges, on every CPU, and returns
// the first error.
func parallel(n int, fn func(lo, hi int) error) error {
	workers := min(runtime.GOMAXPROCS(0), max(1, n/256))
	per := (n + workers - 1) / workers
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		lo, hi := w*per, min((w+1)*per, n)
		if lo >= hi {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[w] = fn(lo, hi)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// signers is how many goroutines sign QR codes while the rows go in: one
// CPU fewer than there are, the last one being the inserts' (the SQLite
// writer's, or the PostgreSQL server's). With every CPU signing, the inserts
// got less than one (PostgreSQL, 1,000,000 tickets on 2 CPUs: 61 s with two
// signers, 56 s with one, measured once each).
func (im *importer) signers() int {
	return max(1, runtime.GOMAXPROCS(0)-1)
}
