package recordbatch

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The record walk: a batch's records read field by field without decoding
// them into kmsg.Records, so that checking a produced batch costs no
// allocation per record, and a compressed batch is read as a stream (keys,
// values and headers are skipped, never held), bounded by MaxUncompressed.
// CheckRecords walks a whole batch as Kafka's record iterator and
// LogValidator read it; FindRecord stops at the first record that matches.
//
// Field by field, a v2 record is (DefaultRecord.readFrom): length (varint),
// attributes (int8), timestamp delta (varlong), offset delta (varint), key
// length (varint, negative: null) and key, value length and value, header
// count (varint) and per header a key length (varint, never negative) and
// key, a value length and value. Varints are zigzag: 5 bytes at most, as
// Kafka's ByteUtils.readVarint and kmsg read them; varlongs 10.

// varint reads a zigzag varint of at most 5 bytes from b, as kmsg does; n
// <= 0 if b is short or the varint too long. The one-byte case (most
// lengths and deltas) is inlined.
func varint(b []byte) (int32, int) {
	if len(b) > 0 && b[0] < 0x80 {
		return int32(b[0]>>1) ^ -int32(b[0]&1), 1
	}
	return varintLong(b)
}

func varintLong(b []byte) (int32, int) {
	if len(b) > 1 && b[1] < 0x80 { // two bytes: deltas up to 8191
		x := uint32(b[0]&0x7f) | uint32(b[1])<<7
		return int32(x>>1) ^ -int32(x&1), 2
	}
	var x uint32
	for i := 0; i < 5 && i < len(b); i++ {
		c := b[i]
		if i == 4 && c > 0x0f {
			return 0, -1
		}
		x |= uint32(c&0x7f) << (7 * i)
		if c < 0x80 {
			return int32(x>>1) ^ -int32(x&1), i + 1
		}
	}
	return 0, 0
}

// varlong reads a zigzag varlong of at most 10 bytes.
func varlong(b []byte) (int64, int) {
	if len(b) > 0 && b[0] < 0x80 {
		return int64(b[0]>>1) ^ -int64(b[0]&1), 1
	}
	return binary.Varint(b)
}

// recordPrefix is what a record holds before its key: enough to know its
// offset and timestamp.
type recordPrefix struct {
	length         int32 // bytes after the length field
	offsetDelta    int32
	timestampDelta int64
	// body is the reader's pos() after the length field, where the
	// record's length counts from.
	body int
}

// recordReader reads records field by field, from bytes in place
// (uncompressed) or through a buffered, bounded decompressing stream.
type recordReader struct {
	b []byte        // in place: the unread bytes
	r *bufio.Reader // streaming, when b is nil
	// consumed counts the bytes read from the stream, for the record
	// length check.
	consumed int
}

var errShort = errors.New("records end early")

func (rr *recordReader) byte() (byte, error) {
	if rr.r == nil {
		if len(rr.b) == 0 {
			return 0, errShort
		}
		c := rr.b[0]
		rr.b = rr.b[1:]
		return c, nil
	}
	c, err := rr.r.ReadByte()
	if err != nil {
		return 0, streamErr(err)
	}
	rr.consumed++
	return c, nil
}

// pos is how far the reader is, to measure a record's length.
func (rr *recordReader) pos() int {
	if rr.r == nil {
		return -len(rr.b)
	}
	return rr.consumed
}

func (rr *recordReader) varint() (int32, error) {
	if rr.r == nil {
		v, n := varint(rr.b)
		if n <= 0 {
			return 0, errBadVarint(n)
		}
		rr.b = rr.b[n:]
		return v, nil
	}
	var x uint32
	for i := 0; i < 5; i++ {
		c, err := rr.byte()
		if err != nil {
			return 0, err
		}
		if i == 4 && c > 0x0f {
			return 0, errBadVarint(-1)
		}
		x |= uint32(c&0x7f) << (7 * i)
		if c < 0x80 {
			break
		}
	}
	return int32(x>>1) ^ -int32(x&1), nil
}

func (rr *recordReader) varlong() (int64, error) {
	if rr.r == nil {
		v, n := varlong(rr.b)
		if n <= 0 {
			return 0, errBadVarint(n)
		}
		rr.b = rr.b[n:]
		return v, nil
	}
	var x uint64
	for i := 0; i < binary.MaxVarintLen64; i++ {
		c, err := rr.byte()
		if err != nil {
			return 0, err
		}
		if i == binary.MaxVarintLen64-1 && c > 1 {
			return 0, errBadVarint(-1)
		}
		x |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			break
		}
	}
	return int64(x>>1) ^ -int64(x&1), nil
}

func errBadVarint(n int) error {
	if n == 0 {
		return errShort
	}
	return errors.New("varint too long")
}

// skip skips n >= 0 bytes.
func (rr *recordReader) skip(n int) error {
	if rr.r == nil {
		if n > len(rr.b) {
			return errShort
		}
		rr.b = rr.b[n:]
		return nil
	}
	d, err := rr.r.Discard(n)
	rr.consumed += d
	if err != nil {
		return streamErr(err)
	}
	return nil
}

// streamErr gives a read error of the decompressing stream its meaning:
// its end is records ending early; the bound and a codec's own errors
// pass through, for the caller to classify.
func streamErr(err error) error {
	if err == io.EOF {
		return errShort
	}
	return &codecError{err}
}

// codecError is an error of decompression, not of the records.
type codecError struct{ err error }

func (e *codecError) Error() string { return e.err.Error() }
func (e *codecError) Unwrap() error { return e.err }

// prefix reads a record's length, attributes, timestamp delta and offset
// delta.
func (rr *recordReader) prefix() (recordPrefix, error) {
	var p recordPrefix
	var err error
	if p.length, err = rr.varint(); err != nil {
		return p, err
	}
	if p.length < 0 {
		return p, fmt.Errorf("record length %d", p.length)
	}
	p.body = rr.pos()
	if _, err = rr.byte(); err != nil { // attributes: unused
		return p, err
	}
	if p.timestampDelta, err = rr.varlong(); err != nil {
		return p, err
	}
	p.offsetDelta, err = rr.varint()
	return p, err
}

// rest reads what follows a record's prefix: key, value and headers. It
// returns whether the key is null.
func (rr *recordReader) rest() (nullKey bool, err error) {
	keyLen, err := rr.varint()
	if err != nil {
		return false, err
	}
	if keyLen >= 0 {
		if err := rr.skip(int(keyLen)); err != nil {
			return false, err
		}
	}
	valueLen, err := rr.varint()
	if err != nil {
		return false, err
	}
	if valueLen >= 0 {
		if err := rr.skip(int(valueLen)); err != nil {
			return false, err
		}
	}
	headers, err := rr.varint()
	if err != nil {
		return false, err
	}
	if headers < 0 {
		return false, fmt.Errorf("%d headers", headers)
	}
	for range headers {
		n, err := rr.varint()
		if err != nil {
			return false, err
		}
		if n < 0 {
			return false, fmt.Errorf("header key of length %d", n) // Kafka: "Invalid negative header key size"
		}
		if err := rr.skip(int(n)); err != nil {
			return false, err
		}
		if n, err = rr.varint(); err != nil {
			return false, err
		}
		if n >= 0 {
			if err := rr.skip(int(n)); err != nil {
				return false, err
			}
		}
	}
	return keyLen < 0, nil
}

// atEnd reports whether nothing follows the last record (for a stream:
// reading one byte more gives EOF, which also makes the codec check its
// trailer, as Kafka's ensureNoneRemaining does).
func (rr *recordReader) atEnd() (bool, error) {
	if rr.r == nil {
		return len(rr.b) == 0, nil
	}
	_, err := rr.r.ReadByte()
	switch {
	case err == io.EOF:
		return true, nil
	case err != nil:
		return false, &codecError{err}
	}
	return false, nil
}

// open starts reading the records of raw, one whole batch with header h:
// in place if uncompressed, else through a bounded decompressing stream.
// done must be called.
func open(raw []byte, h Header) (rr recordReader, done func(), err error) {
	codec := h.Compression()
	if codec == 0 {
		return recordReader{b: raw[HeaderSize:]}, func() {}, nil
	}
	d, err := openCompressed(codec, raw[HeaderSize:], MaxUncompressed(h.Size))
	if err != nil {
		return recordReader{}, nil, batchErr(h, &codecError{err})
	}
	br := bufPool.Get().(*bufio.Reader)
	br.Reset(d)
	return recordReader{r: br}, func() {
		br.Reset(nil)
		bufPool.Put(br)
		d.Close()
	}, nil
}

// batchErr gives an error of the walk its sentinel: the bound is
// ErrRecordsTooLarge (RECORD_LIST_TOO_LARGE), a payload the codec cannot
// read ErrCorrupt (CORRUPT_MESSAGE), and records that disagree with the
// header or do not parse ErrInvalidRecord (INVALID_RECORD), as Kafka's
// DefaultRecordBatch iterator and DefaultRecord.readFrom refuse them with
// InvalidRecordException ("Incorrect declared batch size", "Found invalid
// record structure").
func batchErr(h Header, err error) error {
	var ce *codecError
	switch {
	case overBound(err):
		return fmt.Errorf("%w: the records decompress to more than %d bytes", ErrRecordsTooLarge, MaxUncompressed(h.Size))
	case errors.As(err, &ce):
		return fmt.Errorf("%w: decompress (codec %d): %v", ErrCorrupt, h.Compression(), ce.err)
	}
	return fmt.Errorf("%w: %v", ErrInvalidRecord, err)
}

// CheckRecords walks the records of raw, one whole batch with header h as
// Parse returned it, as Kafka reads a produced batch
// (DefaultRecordBatch's iterator, DefaultRecord.readFrom, LogValidator):
//
//   - exactly h.NumRecords records and nothing after them, each parsing
//     to exactly its length, with no negative header count or header key
//     length;
//   - offset deltas 0, 1, 2, ...: a producer's records count up from the
//     batch's base offset. Kafka rewrites a compressed batch whose inner
//     offsets do not (LogValidator's "older clients" case, which
//     recompresses); Ordo never recompresses, so it refuses the batch, and
//     no v2 client writes one;
//   - with compacted, a key on every record (Kafka's "Compacted topic
//     cannot accept message without key", ErrNoKey).
//
// A compressed batch is decompressed as it is read, bounded by
// MaxUncompressed(h.Size), holding no more than a small buffer and the
// codec's window. Errors wrap ErrInvalidRecord, ErrNoKey, ErrCorrupt (does
// not decompress) or ErrRecordsTooLarge. An uncompressed batch is checked
// in place, in one pass, without allocating.
func CheckRecords(raw []byte, h Header, compacted bool) error {
	if h.Compression() == 0 {
		return checkInPlace(raw[HeaderSize:], h.NumRecords, compacted)
	}
	rr, done, err := open(raw, h)
	if err != nil {
		return err
	}
	defer done()
	for i := int32(0); i < h.NumRecords; i++ {
		p, err := rr.prefix()
		if err != nil {
			return batchErr(h, fmt.Errorf("record %d of %d: %w", i, h.NumRecords, err))
		}
		if p.offsetDelta != i {
			return fmt.Errorf("%w: record %d has offset delta %d", ErrInvalidRecord, i, p.offsetDelta)
		}
		nullKey, err := rr.rest()
		if err != nil {
			return batchErr(h, fmt.Errorf("record %d of %d: %w", i, h.NumRecords, err))
		}
		if read := rr.pos() - p.body; read != int(p.length) {
			return fmt.Errorf("%w: record %d is %d bytes long, its fields %d", ErrInvalidRecord, i, p.length, read)
		}
		if compacted && nullKey {
			return fmt.Errorf("%w (record at offset delta %d)", ErrNoKey, p.offsetDelta)
		}
	}
	end, err := rr.atEnd()
	if err != nil {
		return batchErr(h, err)
	}
	if !end {
		return fmt.Errorf("%w: bytes after the last of %d records", ErrInvalidRecord, h.NumRecords)
	}
	return nil
}

// checkInPlace is CheckRecords for uncompressed records b: the produce
// path's common case, one pass over the bytes with no allocation. It is
// written for speed (about 7 ns a record): positions rather than slices,
// and each varint's one- and two-byte cases decoded in line (the compiler
// does not inline varint); the cold cases call varintLong.
func checkInPlace(b []byte, n int32, compacted bool) error {
	pos := 0
	for i := int32(0); i < n; i++ {
		// The length: one byte up to 63, two up to 8191.
		var length int
		switch {
		case pos < len(b) && b[pos] < 0x80:
			c := int(b[pos])
			length, pos = c>>1^-(c&1), pos+1
		case pos+1 < len(b) && b[pos+1] < 0x80:
			x := int(b[pos]&0x7f) | int(b[pos+1])<<7
			length, pos = x>>1^-(x&1), pos+2
		default:
			v, k := varintLong(b[min(pos, len(b)):])
			if k <= 0 {
				return invalidField(i, n, "length")
			}
			length, pos = int(v), pos+k
		}
		if length < 0 || length > len(b)-pos {
			return fmt.Errorf("%w: record %d of %d: length runs past the records", ErrInvalidRecord, i, n)
		}
		rec := b[:pos+length] // the record ends at len(rec)
		// Attributes (unused) and the timestamp delta.
		if pos+1 < len(rec) && rec[pos+1] < 0x80 {
			pos += 2
		} else {
			if pos >= len(rec) {
				return invalidField(i, n, "attributes")
			}
			_, k := varlong(rec[pos+1:])
			if k <= 0 {
				return invalidField(i, n, "timestamp delta")
			}
			pos += 1 + k
		}
		// The offset delta.
		var delta int
		switch {
		case pos < len(rec) && rec[pos] < 0x80:
			c := int(rec[pos])
			delta, pos = c>>1^-(c&1), pos+1
		case pos+1 < len(rec) && rec[pos+1] < 0x80:
			x := int(rec[pos]&0x7f) | int(rec[pos+1])<<7
			delta, pos = x>>1^-(x&1), pos+2
		default:
			v, k := varintLong(rec[min(pos, len(rec)):])
			if k <= 0 {
				return invalidField(i, n, "offset delta")
			}
			delta, pos = int(v), pos+k
		}
		if delta != int(i) {
			return fmt.Errorf("%w: record %d has offset delta %d", ErrInvalidRecord, i, delta)
		}
		// The key: a length (negative: null) and its bytes.
		var keyLen int
		switch {
		case pos < len(rec) && rec[pos] < 0x80:
			c := int(rec[pos])
			keyLen, pos = c>>1^-(c&1), pos+1
		default:
			v, k := varintLong(rec[min(pos, len(rec)):])
			if k <= 0 {
				return invalidField(i, n, "key")
			}
			keyLen, pos = int(v), pos+k
		}
		if keyLen > len(rec)-pos {
			return invalidField(i, n, "key")
		}
		pos += max(keyLen, 0)
		// The value.
		var valueLen int
		switch {
		case pos < len(rec) && rec[pos] < 0x80:
			c := int(rec[pos])
			valueLen, pos = c>>1^-(c&1), pos+1
		case pos+1 < len(rec) && rec[pos+1] < 0x80:
			x := int(rec[pos]&0x7f) | int(rec[pos+1])<<7
			valueLen, pos = x>>1^-(x&1), pos+2
		default:
			v, k := varintLong(rec[min(pos, len(rec)):])
			if k <= 0 {
				return invalidField(i, n, "value")
			}
			valueLen, pos = int(v), pos+k
		}
		if valueLen > len(rec)-pos {
			return invalidField(i, n, "value")
		}
		pos += max(valueLen, 0)
		// Headers: none, or checkHeaders.
		if pos+1 == len(rec) && rec[pos] == 0 {
			pos++
		} else {
			tail := rec[min(pos, len(rec)):]
			if err := checkHeaders(&tail, i, n); err != nil {
				return err
			}
			pos = len(rec) - len(tail)
		}
		if pos != len(rec) {
			return fmt.Errorf("%w: record %d of %d is %d bytes longer than its fields", ErrInvalidRecord, i, n, len(rec)-pos)
		}
		if compacted && keyLen < 0 {
			return fmt.Errorf("%w (record at offset delta %d)", ErrNoKey, i)
		}
	}
	if pos != len(b) {
		return fmt.Errorf("%w: %d bytes after the last of %d records", ErrInvalidRecord, len(b)-pos, n)
	}
	return nil
}

// checkHeaders reads the header count and headers at the start of *rec
// and moves *rec past them.
func checkHeaders(rec *[]byte, i, n int32) error {
	b := *rec
	headers, k := varint(b)
	if k <= 0 || headers < 0 {
		return invalidField(i, n, "header count")
	}
	b = b[k:]
	for range headers {
		hk, k := varint(b)
		if k <= 0 || hk < 0 || int(hk) > len(b)-k {
			return invalidField(i, n, "header key")
		}
		b = b[k+int(hk):]
		hv, k := varint(b)
		if k <= 0 || int(hv) > len(b)-k {
			return invalidField(i, n, "header value")
		}
		b = b[k+max(int(hv), 0):]
	}
	*rec = b
	return nil
}

func invalidField(i, n int32, field string) error {
	return fmt.Errorf("%w: record %d of %d: bad %s", ErrInvalidRecord, i, n, field)
}

// FindRecord returns the offset and timestamp of the first record of raw
// (one whole stored batch, header h) that satisfies match, reading no
// further than that record's offset delta: a timestamp look-up on a batch
// whose first record matches decompresses only the start of it, whatever
// the batch inflates to. It reads what it skips through the same bound as
// CheckRecords. In a LogAppendTime batch every record's timestamp is the
// batch's MaxTimestamp (KIP-32).
func FindRecord(raw []byte, h Header, match func(offset, timestamp int64) bool) (offset, timestamp int64, found bool, err error) {
	rr, done, err := open(raw, h)
	if err != nil {
		return 0, 0, false, err
	}
	defer done()
	for i := int32(0); i < h.NumRecords; i++ {
		p, err := rr.prefix()
		if err != nil {
			return 0, 0, false, batchErr(h, fmt.Errorf("record %d of %d: %w", i, h.NumRecords, err))
		}
		offset, timestamp := h.BaseOffset+int64(p.offsetDelta), h.FirstTimestamp+p.timestampDelta
		if h.LogAppendTime() {
			timestamp = h.MaxTimestamp
		}
		if match(offset, timestamp) {
			return offset, timestamp, true, nil
		}
		rest := int(p.length) - (rr.pos() - p.body)
		if rest < 0 {
			return 0, 0, false, fmt.Errorf("%w: record %d is %d bytes long, shorter than its fields", ErrInvalidRecord, i, p.length)
		}
		if err := rr.skip(rest); err != nil {
			return 0, 0, false, batchErr(h, fmt.Errorf("record %d of %d: %w", i, h.NumRecords, err))
		}
	}
	return 0, 0, false, nil
}
