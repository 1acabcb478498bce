package loadgen

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Result is what one run measured.
type Result struct {
	Target     string `json:"target"`
	Topic      string `json:"topic"`
	Records    int    `json:"records"`
	RecordSize int    `json:"record_size"`
	// Flush is the flush policy the topic had ("memory" for kfake).
	Flush   string      `json:"flush"`
	Produce Throughput  `json:"produce"`
	Consume *Throughput `json:"consume,omitempty"`
	// Latency is produce-to-consume: from handing a record to the producer
	// to a consumer tailing the topic receiving it.
	Latency Latency `json:"latency"`
	// Verified is true when every read matched what was produced.
	Verified bool `json:"verified"`
}

// Throughput of one phase. MB is 10^6 bytes of record values.
type Throughput struct {
	Elapsed       time.Duration `json:"elapsed_ns"`
	RecordsPerSec float64       `json:"records_per_sec"`
	MBPerSec      float64       `json:"mb_per_sec"`
}

// Latency percentiles over every record.
type Latency struct {
	Samples int           `json:"samples"`
	P50     time.Duration `json:"p50_ns"`
	P90     time.Duration `json:"p90_ns"`
	P99     time.Duration `json:"p99_ns"`
	Max     time.Duration `json:"max_ns"`
}

// VerificationError says a run read something other than what it produced.
type VerificationError struct {
	Target string
	// Reads maps the reader ("tail" during produce, "consume" after) to
	// what it found.
	Reads map[string]*problems
}

func (e *VerificationError) Error() string {
	s := fmt.Sprintf("%s: verification FAILED:", e.Target)
	for _, reader := range []string{"tail", "consume"} {
		if p := e.Reads[reader]; p != nil {
			s += fmt.Sprintf("\n %s consumer (%s) found %v:\n%s", reader, readerDoc[reader], p.Names(), p.String())
		}
	}
	return s
}

var readerDoc = map[string]string{
	"tail":    "reading while the producers ran",
	"consume": "reading from the start after producing",
}

// Anomalies lists every anomaly name found by any reader.
func (e *VerificationError) Anomalies() []string {
	var names []string
	for _, p := range e.Reads {
		names = append(names, p.Names()...)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// Run runs cfg against one target: TargetOrdo or TargetKfake started in this
// process, or, when cfg.Brokers is set, those brokers (name is then ignored).
// The whole run, target start to stop, is bounded by cfg.Timeout. A run that
// read something other than it produced returns its Result together with a
// *VerificationError.
func Run(ctx context.Context, cfg Config, name string) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeoutCause(ctx, cfg.Timeout, fmt.Errorf("timed out after %v (--timeout)", cfg.Timeout))
	defer cancel()

	topic := cfg.Topic
	if topic == "" {
		topic = fmt.Sprintf("ordo-bench-%d", time.Now().UnixNano())
	}
	t, err := startTarget(cfg, name, topic)
	if err != nil {
		return nil, err
	}
	r := &run{cfg: cfg, t: t, topic: topic, progress: cfg.Progress, start: time.Now()}
	if r.progress == nil {
		r.progress = io.Discard
	}
	res, err := r.run(ctx)
	if serr := t.stop(); serr != nil && err == nil {
		err = fmt.Errorf("%s: stopping: %w", t.name, serr)
	}
	return res, err
}

// readHook, when set by a test, sees every record a reader ("tail" or
// "consume") reads before the verifier does; it may change the record, and
// returning false hides it. Tests use it to plant anomalies.
var readHook func(reader string, rec *kgo.Record) bool

// run is the state of one run.
type run struct {
	cfg      Config
	t        *target
	topic    string
	progress io.Writer
	start    time.Time

	phase    atomic.Pointer[string]
	acked    atomic.Int64 // produce promises that succeeded
	tailRead atomic.Int64 // records the tail consumer read
	consRead atomic.Int64 // records the consume phase read
}

func (r *run) setPhase(p string) {
	r.phase.Store(&p)
	fmt.Fprintf(r.progress, "%s +%.3fs: %s\n", r.t.name, time.Since(r.start).Seconds(), p)
}

// wrap turns a context error into one that says what the run was doing.
func (r *run) wrap(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		err = context.Cause(ctx)
	}
	return fmt.Errorf("%s: %v while %s (%d/%d records acknowledged, tail consumer read %d, consume phase read %d)",
		r.t.name, err, *r.phase.Load(), r.acked.Load(), r.cfg.Records, r.tailRead.Load(), r.consRead.Load())
}

func (r *run) clientOpts(extra ...kgo.Opt) []kgo.Opt {
	return append([]kgo.Opt{kgo.SeedBrokers(r.t.seeds...), kgo.ClientID("ordo-bench")}, extra...)
}

func (r *run) run(ctx context.Context) (*Result, error) {
	cfg := r.cfg
	res := &Result{Target: r.t.name, Topic: r.topic, Records: cfg.Records, RecordSize: cfg.RecordSize, Flush: r.t.flush}

	r.setPhase("creating topic " + r.topic)
	admCl, err := kgo.NewClient(r.clientOpts()...)
	if err != nil {
		return nil, r.wrap(ctx, err)
	}
	defer admCl.Close()
	adm := kadm.NewClient(admCl)
	if r.t.createTopic {
		flush := cfg.flushMessages()
		resp, err := adm.CreateTopic(ctx, cfg.Partitions, cfg.ReplicationFactor, map[string]*string{"flush.messages": &flush}, r.topic)
		if err == nil {
			err = resp.Err
		}
		if err != nil {
			return nil, r.wrap(ctx, fmt.Errorf("create topic: %w", err))
		}
	}
	if err := waitForLeaders(ctx, adm, r.topic, cfg.Partitions); err != nil {
		return nil, r.wrap(ctx, err)
	}

	var expectPartition func(int64) int32
	if cfg.Partitioner == PartitionManual {
		expectPartition = func(seq int64) int32 { return int32(seq % int64(cfg.Partitions)) }
	}
	ackd := newAcks(cfg.Records, cfg.Acks != "none")
	var endOffsets atomic.Pointer[[]int64]

	// The tail consumer reads while the producers write: it measures
	// produce-to-consume latency and verifies a first read.
	r.setPhase("starting the tail consumer")
	tailCl, err := kgo.NewClient(r.clientOpts(kgo.ConsumePartitions(fromStart(r.topic, cfg.Partitions)))...)
	if err != nil {
		return nil, r.wrap(ctx, err)
	}
	defer tailCl.Close()
	// Warm up: one short poll loads metadata and leaves a fetch waiting.
	wctx, wcancel := context.WithTimeout(ctx, 250*time.Millisecond)
	warm := tailCl.PollRecords(wctx, 1) // nothing to read yet: returns on the deadline
	wcancel()
	if !warm.Empty() {
		return nil, r.wrap(ctx, fmt.Errorf("topic %s already holds records: the run needs a fresh topic", r.topic))
	}
	tailVer := newVerifier(cfg.Records, cfg.Producers, cfg.Partitions, cfg.RecordSize, expectPartition)
	latencies := make([]int64, 0, cfg.Records)
	tailCtx, tailCancel := context.WithCancel(ctx)
	defer tailCancel()
	tailDone := make(chan error, 1)
	go func() {
		tailDone <- drain(tailCtx, tailCl, cfg.Partitions, endOffsets.Load, &r.tailRead, func(now time.Time, rec *kgo.Record) {
			if readHook != nil && !readHook("tail", rec) {
				return
			}
			if d, ok := tailVer.observe(rec.Partition, rec.Offset, rec.Value); ok {
				latencies = append(latencies, now.UnixNano()-d.sentNano)
			}
		})
	}()

	r.setPhase(fmt.Sprintf("producing %d records of %d bytes with %d producer(s), acks=%s", cfg.Records, cfg.RecordSize, cfg.Producers, cfg.Acks))
	elapsed, err := r.produce(ctx, ackd)
	if err != nil {
		tailCancel()
		<-tailDone
		return nil, r.wrap(ctx, err)
	}
	res.Produce = throughput(cfg, elapsed)

	r.setPhase("listing end offsets")
	ends, err := waitEndOffsets(ctx, adm, r.topic, cfg.Partitions, int64(cfg.Records))
	if err != nil {
		tailCancel()
		<-tailDone
		return nil, r.wrap(ctx, err)
	}
	endOffsets.Store(&ends)

	r.setPhase("waiting for the tail consumer to reach the end offsets")
	if err := <-tailDone; err != nil {
		return nil, r.wrap(ctx, fmt.Errorf("tail consumer: %w", err))
	}
	tailCl.Close()
	res.Latency = percentiles(latencies)
	verr := &VerificationError{Target: r.t.name, Reads: map[string]*problems{}}
	if p := tailVer.finish(ackd, ends); p != nil {
		verr.Reads["tail"] = p
	}

	if cfg.Consume {
		r.setPhase("consuming everything from the start")
		consVer := newVerifier(cfg.Records, cfg.Producers, cfg.Partitions, cfg.RecordSize, expectPartition)
		start := time.Now()
		cl, err := kgo.NewClient(r.clientOpts(kgo.ConsumePartitions(fromStart(r.topic, cfg.Partitions)))...)
		if err != nil {
			return nil, r.wrap(ctx, err)
		}
		err = drain(ctx, cl, cfg.Partitions, func() *[]int64 { return &ends }, &r.consRead, func(_ time.Time, rec *kgo.Record) {
			if readHook != nil && !readHook("consume", rec) {
				return
			}
			consVer.observe(rec.Partition, rec.Offset, rec.Value)
		})
		elapsed := time.Since(start)
		cl.Close()
		if err != nil {
			return nil, r.wrap(ctx, fmt.Errorf("consumer: %w", err))
		}
		c := throughput(cfg, elapsed)
		res.Consume = &c
		if p := consVer.finish(ackd, ends); p != nil {
			verr.Reads["consume"] = p
		}
	}

	if len(verr.Reads) > 0 {
		return res, verr
	}
	res.Verified = true
	r.setPhase("done, verified: no loss, no duplicates, order kept per partition")
	return res, nil
}

// produce writes every record and returns how long it took from the first
// Produce call until every record was acknowledged.
func (r *run) produce(ctx context.Context, a *acks) (time.Duration, error) {
	cfg := r.cfg
	codec, _ := compressionCodec(cfg.Compression)
	opts := r.clientOpts(
		kgo.DefaultProduceTopic(r.topic),
		kgo.ProducerLinger(cfg.Linger),
		kgo.ProducerBatchMaxBytes(cfg.BatchMaxBytes),
		kgo.ProducerBatchCompression(codec),
	)
	switch cfg.Acks {
	case "all":
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	case "leader":
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	case "none":
		opts = append(opts, kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite())
	}
	switch cfg.Partitioner {
	case PartitionManual:
		opts = append(opts, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	case PartitionRoundRobin:
		opts = append(opts, kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	case PartitionKey:
		opts = append(opts, kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))
	}

	clients := make([]*kgo.Client, cfg.Producers)
	for i := range clients {
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			return 0, err
		}
		defer cl.Close()
		clients[i] = cl
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		errOnce  sync.Once
		firstErr error
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; cancel() })
	}
	pad := newPadding(cfg.RecordSize)
	pool := sync.Pool{New: func() any { return make([]byte, cfg.RecordSize) }}
	promise := func(rec *kgo.Record, err error) {
		if err != nil {
			fail(fmt.Errorf("produce to partition %d: %w", rec.Partition, err))
			return
		}
		seq := seqOf(rec.Value)
		a.partition[seq] = rec.Partition
		a.offset[seq] = rec.Offset
		r.acked.Add(1)
		pool.Put(rec.Value) //nolint:staticcheck // a slice header per record is cheap next to a record
	}

	var wg sync.WaitGroup
	start := time.Now()
	for p, cl := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			perProducer := float64(cfg.Rate) / float64(cfg.Producers)
			for k, seq := 0, int64(p); seq < int64(cfg.Records); k, seq = k+1, seq+int64(cfg.Producers) {
				if ctx.Err() != nil {
					return
				}
				sent := time.Now()
				if cfg.Rate > 0 {
					// Stamp the time the record was due, and sleep only when
					// ahead of schedule by more than a millisecond.
					due := start.Add(time.Duration(float64(k) / perProducer * float64(time.Second)))
					if d := due.Sub(sent); d > time.Millisecond {
						sleep(ctx, d)
					}
					sent = due
				}
				v := pool.Get().([]byte)
				pad.encode(v, record{seq: seq, sentNano: sent.UnixNano(), producer: p})
				rec := &kgo.Record{Value: v}
				switch cfg.Partitioner {
				case PartitionManual:
					rec.Partition = int32(seq % int64(cfg.Partitions))
				case PartitionKey:
					rec.Key = binary.BigEndian.AppendUint64(nil, uint64(seq))
				}
				cl.Produce(ctx, rec, promise)
			}
			if err := cl.Flush(ctx); err != nil {
				fail(fmt.Errorf("flush: %w", err))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return 0, firstErr
	}
	if n := r.acked.Load(); n != int64(cfg.Records) {
		return 0, fmt.Errorf("only %d of %d records acknowledged", n, cfg.Records)
	}
	return elapsed, nil
}

// drain polls until it has read up to end() on every partition (end returns
// nil while the end is not known yet), calling each for every record.
func drain(ctx context.Context, cl *kgo.Client, partitions int32, end func() *[]int64, read *atomic.Int64, each func(now time.Time, rec *kgo.Record)) error {
	next := make([]int64, partitions)
	for {
		if e := end(); e != nil && caughtUp(next, *e) {
			return nil
		}
		pctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		fetches := cl.PollRecords(pctx, 0)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ferr error
		fetches.EachError(func(t string, p int32, err error) {
			if ferr == nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				ferr = fmt.Errorf("fetch %s[%d]: %w", t, p, err)
			}
		})
		if ferr != nil {
			return ferr
		}
		now := time.Now()
		fetches.EachRecord(func(rec *kgo.Record) {
			read.Add(1)
			if rec.Partition >= 0 && rec.Partition < partitions && rec.Offset >= next[rec.Partition] {
				next[rec.Partition] = rec.Offset + 1
			}
			each(now, rec)
		})
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func caughtUp(next, end []int64) bool {
	for p := range next {
		if p < len(end) && next[p] < end[p] {
			return false
		}
	}
	return true
}

func fromStart(topic string, partitions int32) map[string]map[int32]kgo.Offset {
	m := make(map[int32]kgo.Offset, partitions)
	for p := range partitions {
		m[p] = kgo.NewOffset().AtStart()
	}
	return map[string]map[int32]kgo.Offset{topic: m}
}

// waitForLeaders waits until the topic has all its partitions and each has a
// leader: a new topic may answer LEADER_NOT_AVAILABLE for a moment.
func waitForLeaders(ctx context.Context, adm *kadm.Client, topic string, partitions int32) error {
	var last error
	for {
		md, err := adm.Metadata(ctx, topic)
		if err == nil {
			td, ok := md.Topics[topic]
			switch {
			case !ok:
				err = errors.New("topic not in metadata")
			case td.Err != nil:
				err = td.Err
			case int32(len(td.Partitions)) != partitions:
				err = fmt.Errorf("topic has %d partitions, want %d", len(td.Partitions), partitions)
			default:
				err = nil
				for _, p := range td.Partitions {
					if p.Err != nil || p.Leader < 0 {
						err = fmt.Errorf("partition %d has no leader (%v)", p.Partition, p.Err)
						break
					}
				}
				if err == nil {
					return nil
				}
			}
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for partition leaders: %w (last: %v)", ctx.Err(), last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitEndOffsets lists the partitions' end offsets until they add up to want,
// or stop moving for 5s: with acks=0 or acks=1 the last records may land a
// little after the producer is done.
func waitEndOffsets(ctx context.Context, adm *kadm.Client, topic string, partitions int32, want int64) ([]int64, error) {
	var prevSum int64 = -1
	changed := time.Now()
	for {
		listed, err := adm.ListEndOffsets(ctx, topic)
		if err == nil {
			err = listed.Error()
		}
		if err != nil {
			return nil, fmt.Errorf("list end offsets: %w", err)
		}
		ends := make([]int64, partitions)
		var sum int64
		listed.Each(func(o kadm.ListedOffset) {
			if o.Partition >= 0 && o.Partition < partitions {
				ends[o.Partition] = o.Offset
				sum += o.Offset
			}
		})
		if sum != prevSum {
			prevSum, changed = sum, time.Now()
		}
		if sum >= want || time.Since(changed) > 5*time.Second {
			return ends, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func throughput(cfg Config, d time.Duration) Throughput {
	s := d.Seconds()
	if s <= 0 {
		s = 1e-9
	}
	return Throughput{
		Elapsed:       d,
		RecordsPerSec: float64(cfg.Records) / s,
		MBPerSec:      float64(cfg.Records) * float64(cfg.RecordSize) / 1e6 / s,
	}
}

func percentiles(ns []int64) Latency {
	if len(ns) == 0 {
		return Latency{}
	}
	slices.Sort(ns)
	at := func(q float64) time.Duration {
		i := int(q*float64(len(ns))+0.999999) - 1
		i = max(0, min(i, len(ns)-1))
		return time.Duration(ns[i])
	}
	return Latency{Samples: len(ns), P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: time.Duration(ns[len(ns)-1])}
}

func compressionCodec(name string) (kgo.CompressionCodec, error) {
	switch name {
	case "", "none":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("compression %q: want none, gzip, snappy, lz4 or zstd", name)
}
