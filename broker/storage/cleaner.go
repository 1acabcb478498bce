package storage

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/ordo-broker/ordo/broker/fs"
	"github.com/ordo-broker/ordo/broker/recordbatch"
)

// Compaction (cleanup.policy=compact), after Kafka's LogCleaner.
//
// A pass works on the log's closed segments, from the first one to the end
// of the cleanable range:
//
//  1. Plan. The dirty part starts at the cleaner checkpoint (Kafka's
//     cleaner-offset-checkpoint, here one file per partition folder), or at
//     the log start offset when the checkpoint is absent or out of range.
//     The cleanable range ends before the active segment, before the first
//     segment not wholly below the high watermark or not yet fully fsynced,
//     and, with min.compaction.lag.ms, before the first dirty segment
//     holding a record younger than the lag. A pass runs when the dirty
//     bytes are more than min.cleanable.dirty.ratio of the cleanable bytes,
//     or when the first dirty batch is older than max.compaction.lag.ms.
//  2. Map. The dirty segments are read and every record's key is mapped to
//     its latest offset (keys compared as bytes). The map is bounded
//     (MaxMapBytes) and so is the dirty data of one pass (MaxDirtyBytes):
//     the pass ends at the last dirty segment that fits, as Kafka's does
//     when its dedupe buffer fills.
//  3. Clean. The segments from the first one to the end of the range are
//     grouped (consecutive segments whose sizes add up to at most
//     segment.bytes), and each group is rewritten into one segment with the
//     first one's base offset, keeping a record if its key maps to no later
//     offset; dropping records without a key (Kafka counts them invalid);
//     and dropping tombstones (null values) once delete.retention.ms has
//     passed since the largest timestamp of the segment holding them (Kafka
//     before KIP-534 measured from the segment's mtime; Ordo uses its
//     largest timestamp, as retention.ms does since KIP-33). Batches are
//     rewritten by filterBatch (compact.go), offsets kept.
//  4. Swap (swap.go), group by group: the cleaned files are written and
//     fsynced under temporary names, swapped in with a protocol that
//     recovery completes after a crash at any point, and the in-memory
//     segment list changes under the log's lock only for that moment.
//  5. The checkpoint moves to the end of the range.
//
// Nothing in a pass holds Log.mu while reading or writing segment files:
// appends and reads go on. A pass is bounded by MaxDirtyBytes of dirty data
// plus the already clean part before it.

// Files of compaction.
const (
	// cleanerOffsetFile is the first dirty offset: every record below it
	// has been through a pass.
	cleanerOffsetFile = "cleaner-offset-checkpoint"
	// cleanedExt marks a segment file being written by the cleaner;
	// recovery deletes it.
	cleanedExt = ".cleaned"
	// swapExt marks a cleaned log file that is complete and fsynced and
	// replaces the segments it covers; recovery completes the swap.
	swapExt = ".swap"
)

// Defaults of CleanOptions' bounds.
const (
	// DefaultMaxMapBytes bounds the key → offset map of one pass: Kafka's
	// log.cleaner.dedupe.buffer.size is 128 MiB shared by its threads.
	DefaultMaxMapBytes = 64 << 20
	// DefaultMaxDirtyBytes bounds the dirty bytes one pass maps.
	DefaultMaxDirtyBytes = 512 << 20
	// mapEntryOverhead is the estimated cost of a map entry beyond its key:
	// a string header, an int64 and the map's own bookkeeping.
	mapEntryOverhead = 48
	// writeChunk is how many cleaned bytes are buffered between writes.
	writeChunk = 1 << 20
)

// CleanOptions is a topic's compaction configuration and the bounds of a
// pass.
type CleanOptions struct {
	// Now is the cleaner's clock reading (tombstone and lag ages). Zero
	// means the log's clock.
	Now time.Time
	// HighWatermark: nothing at or above it is cleaned (uncommitted records
	// may still be truncated). Required.
	HighWatermark int64
	// DeleteRetentionMs is delete.retention.ms.
	DeleteRetentionMs int64
	// MinCompactionLagMs is min.compaction.lag.ms.
	MinCompactionLagMs int64
	// MaxCompactionLagMs is max.compaction.lag.ms; <= 0 means none.
	MaxCompactionLagMs int64
	// MinCleanableDirtyRatio is min.cleanable.dirty.ratio.
	MinCleanableDirtyRatio float64
	// Force runs a pass whatever the dirty ratio (tests, tools).
	Force bool
	// MaxMapBytes and MaxDirtyBytes bound a pass; zero means the defaults.
	MaxMapBytes   int64
	MaxDirtyBytes int64
	// Stop, when closed, makes a pass give up at the next batch; what was
	// swapped in stays, the rest is discarded.
	Stop <-chan struct{}
}

// CleanResult says what a pass found and did.
type CleanResult struct {
	// Ran says a pass ran; Skipped says why not otherwise.
	Ran     bool
	Skipped string
	// FirstDirty and End bound the dirty part the pass mapped: [FirstDirty,
	// End). End is the new cleaner checkpoint.
	FirstDirty, End int64
	DirtyRatio      float64
	// The segments and bytes of the cleaned range before and after, and
	// how many groups were swapped in (groups that came out unchanged are
	// not).
	SegmentsBefore, SegmentsAfter int
	BytesBefore, BytesAfter       int64
	Swapped                       int
	// Record counts.
	Keys, Records, Kept, TombstonesDropped, KeylessDropped int
	// Aborted says the log changed under the pass (a truncation, a
	// deletion, a close) or Stop was closed; the next pass starts over.
	Aborted bool
}

// errCleanAborted stops a pass that raced with a change of the log.
var errCleanAborted = errors.New("storage: compaction pass aborted")

// segView is what a pass needs of a segment, copied under l.mu. The bytes
// below size do not change while the segment is in the log.
type segView struct {
	s     *segment
	base  int64
	next  int64
	size  int64
	maxTS int64
}

// cleanPlan is a pass's view of the log.
type cleanPlan struct {
	segs          []segView // closed segments, first to last
	dirty         int       // index of the first dirty segment
	cleanable     int       // segments [0, cleanable) may be cleaned
	segmentBytes  int64
	indexInterval int
	gen           uint64
}

// Clean runs one compaction pass if the log needs one (see the overview
// above). It returns what it did; a pass that raced with a change of the
// log is Aborted, not an error.
func (l *Log) Clean(opts CleanOptions) (CleanResult, error) {
	l.cleanMu.Lock()
	defer l.cleanMu.Unlock()
	if opts.Now.IsZero() {
		opts.Now = l.now()
	}
	if opts.MaxMapBytes <= 0 {
		opts.MaxMapBytes = DefaultMaxMapBytes
	}
	if opts.MaxDirtyBytes <= 0 {
		opts.MaxDirtyBytes = DefaultMaxDirtyBytes
	}
	res, err := l.clean(opts)
	if errors.Is(err, errCleanAborted) {
		res.Aborted = true
		return res, nil
	}
	return res, err
}

func (l *Log) clean(opts CleanOptions) (CleanResult, error) {
	cp, ok, err := readOffsetCheckpoint(l.fsys, l.dir, cleanerOffsetFile)
	if err != nil && !errors.Is(err, ErrCorruptLog) {
		return CleanResult{}, err
	}
	if !ok {
		cp = -1 // absent or unreadable: start at the log start offset
	}
	plan, res, err := l.planClean(cp, opts)
	if err != nil || plan == nil {
		return res, err
	}
	res.Ran = true
	offsets, producers, end, err := l.buildOffsetMap(plan, opts)
	if err != nil {
		return res, err
	}
	res.End, res.Keys = end, len(offsets)
	var segs []segView
	for _, v := range plan.segs[:plan.cleanable] {
		if v.next > end {
			break
		}
		segs = append(segs, v)
	}
	for _, g := range groupSegments(segs, plan.segmentBytes) {
		for _, v := range g {
			res.SegmentsBefore++
			res.BytesBefore += v.size
		}
		out, err := l.cleanGroup(g, plan, offsets, producers, opts, &res)
		if err != nil {
			return res, err
		}
		res.SegmentsAfter++
		res.BytesAfter += out
	}
	if err := writeFileAtomic(l.fsys, l.dir, cleanerOffsetFile, encodeOffsetCheckpoint(end)); err != nil {
		return res, err
	}
	return res, nil
}

// planClean decides whether a pass runs and over what. A nil plan means
// none (res.Skipped says why).
func (l *Log) planClean(checkpoint int64, opts CleanOptions) (*cleanPlan, CleanResult, error) {
	var res CleanResult
	l.mu.RLock()
	if err := l.writable(); err != nil {
		l.mu.RUnlock()
		return nil, res, err
	}
	plan := &cleanPlan{segmentBytes: l.cfg.SegmentBytes, indexInterval: l.cfg.IndexIntervalBytes, gen: l.gen}
	for _, s := range l.segments[:len(l.segments)-1] {
		plan.segs = append(plan.segs, segView{s: s, base: s.base, next: s.next, size: s.size, maxTS: s.maxTimestamp})
	}
	logStart, logEnd, durable := l.logStart, l.logEnd(), l.durablePrefix()
	l.mu.RUnlock()

	firstDirty := checkpoint
	if firstDirty < logStart || firstDirty > logEnd {
		firstDirty = logStart
	}
	res.FirstDirty = firstDirty
	nowMs := opts.Now.UnixMilli()
	limit := min(opts.HighWatermark, durable)
	for _, v := range plan.segs {
		if v.next > limit {
			break
		}
		if v.next > firstDirty && opts.MinCompactionLagMs > 0 && v.maxTS > nowMs-opts.MinCompactionLagMs {
			break
		}
		plan.cleanable++
	}
	plan.dirty = plan.cleanable
	var cleanBytes, dirtyBytes int64
	for i, v := range plan.segs[:plan.cleanable] {
		if v.next > firstDirty && plan.dirty == plan.cleanable {
			plan.dirty = i
		}
		if i < plan.dirty {
			cleanBytes += v.size
		} else {
			dirtyBytes += v.size
		}
	}
	if dirtyBytes == 0 {
		res.Skipped = "no cleanable dirty segment"
		return nil, res, nil
	}
	res.DirtyRatio = float64(dirtyBytes) / float64(cleanBytes+dirtyBytes)
	mustClean := false
	if opts.MaxCompactionLagMs > 0 && opts.MaxCompactionLagMs < math.MaxInt64 {
		if ts, err := firstBatchTimestamp(plan.segs[plan.dirty]); err == nil && ts >= 0 && nowMs-ts > opts.MaxCompactionLagMs {
			mustClean = true
		}
	}
	if !opts.Force && !mustClean && res.DirtyRatio <= opts.MinCleanableDirtyRatio {
		res.Skipped = fmt.Sprintf("dirty ratio %.3f is not above min.cleanable.dirty.ratio %.3f", res.DirtyRatio, opts.MinCleanableDirtyRatio)
		return nil, res, nil
	}
	return plan, res, nil
}

// firstBatchTimestamp is the max timestamp of a segment's first batch
// (Kafka's getFirstBatchTimestamp, which max.compaction.lag.ms measures).
func firstBatchTimestamp(v segView) (int64, error) {
	b, _, err := newScanner(v.s.log, 0, v.size, minWindow).next(false)
	if err != nil {
		return -1, err
	}
	return b.MaxTimestamp, nil
}

// buildOffsetMap maps every key of the dirty segments to its latest offset,
// as far as the bounds allow, and notes the last offset of each idempotent
// producer's last batch in the range. end is where the mapped range ends:
// the cleaned range is [first segment, end).
func (l *Log) buildOffsetMap(plan *cleanPlan, opts CleanOptions) (offsets map[string]int64, producers map[int64]int64, end int64, err error) {
	offsets, producers = map[string]int64{}, map[int64]int64{}
	noteProducer := func(b Batch) {
		if b.ProducerID >= 0 {
			producers[b.ProducerID] = b.LastOffset()
		}
	}
	// The clean part only for its producers: headers suffice.
	for _, v := range plan.segs[:plan.dirty] {
		sc := newScanner(v.s.log, 0, v.size, readWindow)
		for {
			b, _, err := sc.next(false)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, nil, 0, l.passError(plan, err)
			}
			noteProducer(b)
		}
	}
	var mapBytes, dirtyBytes int64
	end = plan.segs[plan.dirty].base
	for i, v := range plan.segs[plan.dirty:plan.cleanable] {
		if i > 0 && dirtyBytes+v.size > opts.MaxDirtyBytes {
			break
		}
		seg := map[string]int64{}
		var segBytes int64
		var segProducers []Batch
		sc := newScanner(v.s.log, 0, v.size, recoveryWindow)
		for {
			if stopped(opts.Stop) {
				return nil, nil, 0, errCleanAborted
			}
			b, raw, err := sc.next(true)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, nil, 0, l.passError(plan, err)
			}
			if b.ProducerID >= 0 {
				segProducers = append(segProducers, b)
			}
			if b.Control() {
				continue
			}
			for r, err := range recordbatch.Records(raw) {
				if err != nil {
					return nil, nil, 0, l.passError(plan, err)
				}
				if r.Key == nil {
					continue
				}
				if _, ok := seg[string(r.Key)]; !ok {
					if _, ok := offsets[string(r.Key)]; !ok {
						segBytes += int64(len(r.Key)) + mapEntryOverhead
					}
				}
				seg[string(r.Key)] = r.Offset
			}
		}
		if i > 0 && mapBytes+segBytes > opts.MaxMapBytes {
			// The first dirty segment is always mapped, whatever its
			// size, so a pass always makes progress.
			break
		}
		for k, o := range seg {
			offsets[k] = o
		}
		for _, b := range segProducers {
			noteProducer(b)
		}
		mapBytes += segBytes
		dirtyBytes += v.size
		end = v.next
	}
	return offsets, producers, end, nil
}

// groupSegments splits segments into runs to be cleaned into one segment
// each: consecutive segments whose sizes add up to at most maxBytes and
// whose offsets fit one segment's 32-bit relative offsets (Kafka's
// groupSegmentsBySize).
func groupSegments(segs []segView, maxBytes int64) [][]segView {
	var groups [][]segView
	for len(segs) > 0 {
		n, size := 1, segs[0].size
		for n < len(segs) && size+segs[n].size <= maxBytes && segs[n].next-1-segs[0].base <= math.MaxInt32 {
			size += segs[n].size
			n++
		}
		groups = append(groups, segs[:n])
		segs = segs[n:]
	}
	return groups
}

// cleanGroup writes the cleaned form of a group of segments and swaps it
// in. It returns the cleaned segment's size.
func (l *Log) cleanGroup(g []segView, plan *cleanPlan, offsets map[string]int64, producers map[int64]int64, opts CleanOptions, res *CleanResult) (int64, error) {
	ns, err := l.createCleaned(g[0].base)
	if err != nil {
		return 0, err
	}
	discard := func(err error) (int64, error) {
		l.discardCleaned(ns)
		return 0, err
	}
	nowMs := opts.Now.UnixMilli()
	changed := len(g) > 1
	var (
		buf     []byte
		written int64 // bytes of ns.log already written
	)
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		if _, err := ns.log.WriteAt(buf, written); err != nil {
			return err
		}
		written += int64(len(buf))
		buf = buf[:0]
		return nil
	}
	for gi, v := range g {
		// Tombstones go once delete.retention.ms has passed since the
		// segment's largest timestamp.
		retainDeletes := v.maxTS < 0 || nowMs-v.maxTS <= opts.DeleteRetentionMs
		fate := func(r *kmsg.Record, offset int64) recordFate {
			switch {
			case r.Key == nil:
				return dropKeyless
			case offsets[string(r.Key)] > offset:
				return dropRecord
			case r.Value == nil && !retainDeletes:
				return dropTombstone
			}
			return keepRecord
		}
		sc := newScanner(v.s.log, 0, v.size, recoveryWindow)
		for {
			if stopped(opts.Stop) {
				return discard(errCleanAborted)
			}
			b, raw, err := sc.next(true)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return discard(l.passError(plan, err))
			}
			// Keep a batch's header even when no record stays if it is
			// the group's last (segments stay contiguous, which recovery
			// checks) or an idempotent producer's last (its sequence
			// survives in the log, which producer state is rebuilt from).
			last := gi == len(g)-1 && int64(b.Position)+int64(b.Size) == v.size
			retainEmpty := last || (b.ProducerID >= 0 && producers[b.ProducerID] == b.LastOffset())
			start := len(buf)
			var f filtered
			buf, f, err = filterBatch(buf, raw, b, fate, retainEmpty)
			if err != nil {
				return discard(l.passError(plan, err))
			}
			res.Records += f.records
			res.Kept += f.kept
			res.TombstonesDropped += f.tombstones
			res.KeylessDropped += f.keyless
			if !f.verbatim {
				changed = true
			}
			if len(buf) > start {
				nb, err := recordbatch.ParseHeader(buf[start:])
				if err != nil {
					return discard(err)
				}
				ns.track(nb, written+int64(start), int64(plan.indexInterval))
			}
			if len(buf) >= writeChunk {
				if err := flush(); err != nil {
					return discard(err)
				}
			}
		}
	}
	if !changed {
		// Nothing to gain: the group stays as it is.
		l.discardCleaned(ns)
		return g[0].size, nil
	}
	ns.addFinalTimeEntry()
	if err := errors.Join(flush(), ns.index.flush(), ns.timeIndex.flush()); err != nil {
		return discard(err)
	}
	if err := errors.Join(ns.log.Sync(), ns.index.f.Sync(), ns.timeIndex.f.Sync()); err != nil {
		return discard(err)
	}
	if err := l.swapIn(g, ns); err != nil {
		return 0, err
	}
	res.Swapped++
	return ns.size, nil
}

// passError turns an error met while reading the log into errCleanAborted
// if the log changed meanwhile (a deletion or truncation closed or cut the
// files being read).
func (l *Log) passError(plan *cleanPlan, err error) error {
	l.mu.RLock()
	changed := l.gen != plan.gen || l.closed
	l.mu.RUnlock()
	if changed {
		return fmt.Errorf("%w: %w", errCleanAborted, err)
	}
	return err
}

func stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

// cleanedName is the name of a segment file being written by the cleaner.
func cleanedName(base int64, ext string) string { return segmentName(base, ext) + cleanedExt }

// createCleaned creates the files of a cleaned segment with base offset
// base, under their .cleaned names.
func (l *Log) createCleaned(base int64) (*segment, error) {
	open := func(ext string) (fs.File, error) {
		return l.fsys.OpenFile(filepath.Join(l.dir, cleanedName(base, ext)), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	}
	logf, err := open(logExt)
	if err != nil {
		return nil, err
	}
	idx, err := open(indexExt)
	if err != nil {
		logf.Close()
		return nil, err
	}
	tidx, err := open(timeIndexExt)
	if err != nil {
		logf.Close()
		idx.Close()
		return nil, err
	}
	return &segment{
		base:                 base,
		log:                  logf,
		index:                &offsetIndex{f: idx, base: base},
		timeIndex:            &timeIndex{f: tidx, base: base},
		next:                 base,
		maxTimestamp:         -1,
		offsetOfMaxTimestamp: -1,
	}, nil
}

// discardCleaned closes and removes a cleaned segment that will not be
// swapped in. Its names were never made durable, and recovery deletes
// .cleaned files anyway, so errors are of no consequence.
func (l *Log) discardCleaned(ns *segment) {
	_ = ns.close()
	for _, ext := range []string{logExt, indexExt, timeIndexExt} {
		_ = l.fsys.Remove(filepath.Join(l.dir, cleanedName(ns.base, ext)))
	}
}
