package changefeed

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"maps"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// digest sums up the entries of one second a reader has handled: how many,
// and the XOR of a hash of each one's Seq. Two readers that handled the same
// entries of a second have equal digests; one entry more or less changes it.
type digest struct {
	n uint32
	x uint64
}

func (d *digest) add(seq orm.UUID) {
	h := fnv.New64a()
	h.Write(seq[:])
	d.n++
	d.x ^= h.Sum64()
}

// lookBack is what a reader of one shard remembers of the entries behind its
// position, so that it can look again for entries that landed after it passed
// them (Config.LookBack) and hand over only those: the Seqs it has handled in
// the window, and per second their digest, which it saves with its checkpoint
// for a successor.
type lookBack struct {
	window time.Duration
	// floor is the earliest time a reader looks back to: an ephemeral reader
	// starts at the present and does not deliver what came before.
	floor time.Time

	seen    map[orm.UUID]struct{}
	digests map[int64]digest // by Unix second of the entries' times

	// inherited is the predecessor's record, until the first look-back has
	// compared it: up to at (its position), a second whose entries match its
	// digest was handled by the predecessor and is not handed over again.
	inherited map[int64]digest
	at        Position
}

func newLookBack(window time.Duration, floor time.Time) *lookBack {
	return &lookBack{window: window, floor: floor, seen: map[orm.UUID]struct{}{}, digests: map[int64]digest{}}
}

// inherit takes over a predecessor's record saved with its checkpoint at
// position at. A checkpoint saved without one (nil: a reader without
// look-back, or a restart of the checkpoint) makes the first look-back hand
// over every entry of its window up to at again.
func (lb *lookBack) inherit(at Position, saved []byte) error {
	lb.at = at
	lb.inherited = map[int64]digest{}
	if at == (Position{}) {
		lb.inherited = nil
		return nil
	}
	if len(saved)%20 != 0 {
		return fmt.Errorf("a record of %d bytes, not a multiple of 20", len(saved))
	}
	for b := saved; len(b) > 0; b = b[20:] {
		sec := int64(binary.BigEndian.Uint64(b))
		lb.inherited[sec] = digest{n: binary.BigEndian.Uint32(b[8:]), x: binary.BigEndian.Uint64(b[12:])}
	}
	return nil
}

// start is where a look-back at now begins: the window plus a quarter (the
// look-backs' spacing, so that an entry stays inside the window for at least
// one of them), from a whole second, and never before floor.
func (lb *lookBack) start(now time.Time) time.Time {
	t := now.Add(-lb.window - lb.window/4).Truncate(time.Second)
	if t.Before(lb.floor) {
		return lb.floor
	}
	return t
}

// has reports whether the reader handled the entry already.
func (lb *lookBack) has(h *Head) bool {
	_, ok := lb.seen[h.Seq]
	return ok
}

// handled records that the reader handed the entry over.
func (lb *lookBack) handled(h *Head) {
	if lb.has(h) {
		return
	}
	lb.seen[h.Seq] = struct{}{}
	sec := h.Seq.Time().Unix()
	d := lb.digests[sec]
	d.add(h.Seq)
	lb.digests[sec] = d
}

// prune forgets the entries before t, outside every later window.
func (lb *lookBack) prune(t time.Time) {
	for seq := range lb.seen {
		if seq.Time().Before(t) {
			delete(lb.seen, seq)
		}
	}
	for sec := range lb.digests {
		if sec < t.Unix() {
			delete(lb.digests, sec)
		}
	}
	for sec := range lb.inherited {
		if sec < t.Unix() {
			delete(lb.inherited, sec)
		}
	}
}

// record is the digests as saved with a checkpoint: 20 bytes per second
// (second, count, XOR), in no particular order. Until the first look-back has
// compared them, the predecessor's digests are part of it: its entries and the
// reader's own are disjoint, so a second's digests combine.
func (lb *lookBack) record() []byte {
	all := maps.Clone(lb.digests)
	for sec, d := range lb.inherited {
		own := all[sec]
		all[sec] = digest{n: own.n + d.n, x: own.x ^ d.x}
	}
	b := make([]byte, 0, 20*len(all))
	for sec, d := range all {
		b = binary.BigEndian.AppendUint64(b, uint64(sec))
		b = binary.BigEndian.AppendUint32(b, d.n)
		b = binary.BigEndian.AppendUint64(b, d.x)
	}
	return b
}

// lookBack reads shard again from lb's start to position to and hands handle
// each entry Verify delivers that the reader has not handled, marked Late. On
// the first look-back after a predecessor (lb.inherited), the entries up to
// the predecessor's position are compared with its digests a second at a time
// instead: a second that matches is taken as handled, one that does not is
// handed over whole, so a restart redelivers only the seconds in which
// something landed late.
func (l *Log[R, P]) lookBack(ctx context.Context, shard int, lb *lookBack, to Position, handle func(r *R) error) error {
	now := time.Now()
	start := lb.start(now)
	lb.prune(start)
	from := Position{Bucket: l.bucketOf(start), Seq: orm.MinTimeUUID(start)}
	upTo := to.Seq.Time()
	if to == (Position{}) || upTo.Before(start) {
		lb.inherited = nil
		return nil
	}
	// pending holds the entries of one second of the inherited part, until the
	// second is complete and can be compared.
	var pending []R
	var sum digest
	sec := int64(-1)
	flush := func() error {
		defer func() { pending, sum = pending[:0], digest{} }()
		inh, ok := lb.inherited[sec]
		delete(lb.inherited, sec) // compared: what was handled is in digests from here on
		if ok && inh == sum {
			for i := range pending {
				lb.handled(P(&pending[i]).head())
			}
			return nil
		}
		for i := range pending {
			if err := l.handLate(&pending[i], lb, handle); err != nil {
				return err
			}
		}
		return nil
	}
	err := l.walk(ctx, shard, from, upTo, func() int { return 500 }, func(r *R) (bool, error) {
		h := P(r).head()
		if lb.has(h) {
			return true, nil
		}
		ok, _, err := l.verify(ctx, r) // an entry behind the reader was decided once: wait means not now
		if err != nil || !ok {
			return err == nil, err
		}
		l.markCommitted(ctx, h)
		if lb.inherited == nil || !behind(lb.at, h) {
			if err := flush(); err != nil {
				return false, err
			}
			return true, l.handLate(r, lb, handle)
		}
		if s := h.Seq.Time().Unix(); s != sec {
			if err := flush(); err != nil {
				return false, err
			}
			sec = s
		}
		pending = append(pending, *r)
		sum.add(h.Seq)
		return true, nil
	})
	if err == nil {
		err = flush()
	}
	if err == nil {
		lb.inherited = nil
	}
	return err
}

// handLate hands r over as a late entry and records it as handled.
func (l *Log[R, P]) handLate(r *R, lb *lookBack, handle func(r *R) error) error {
	h := P(r).head()
	h.late = true
	if err := handle(r); err != nil {
		return err
	}
	lb.handled(h)
	return nil
}

// behind reports whether the entry's place is not after position at.
func behind(at Position, h *Head) bool {
	if h.Bucket != at.Bucket {
		return h.Bucket < at.Bucket
	}
	return !h.Seq.Time().After(at.Seq.Time())
}
