// Package tfrecord reads and writes TFRecord files, the framing TensorFlow's
// tf.data.TFRecordDataset and tf.io.TFRecordWriter use. Each record is
//
//	uint64 length, little endian
//	uint32 masked CRC32C of the 8 length bytes, little endian
//	length bytes of data
//	uint32 masked CRC32C of the data, little endian
//
// A file may be gzip-compressed as a whole (TensorFlow's "GZIP" option).
package tfrecord

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"strings"
)

// Compression selects how a whole TFRecord file is compressed.
type Compression int

const (
	// None means the records are stored as they are.
	None Compression = iota
	// Gzip means the framed records form one gzip stream.
	Gzip
)

// String returns "none" or "gzip".
func (c Compression) String() string {
	switch c {
	case None:
		return "none"
	case Gzip:
		return "gzip"
	}
	return fmt.Sprintf("Compression(%d)", int(c))
}

// CompressionFromPath returns Gzip for a name ending in ".gz", else None.
func CompressionFromPath(name string) Compression {
	if strings.HasSuffix(name, ".gz") {
		return Gzip
	}
	return None
}

// MaxRecordSize is the largest record the Writer writes and the Reader
// accepts, 1 GiB. A length field above it is reported as corruption, so a
// damaged or hostile file cannot make the Reader allocate more.
const MaxRecordSize = 1 << 30

const (
	headerSize = 12       // length and its CRC
	footerSize = 4        // data CRC
	bufferSize = 1 << 20  // bufio buffer of the Writer
	readBuffer = 64 << 10 // bufio buffer of the Reader; larger reads bypass it
	firstChunk = 1 << 20  // first step when growing the Reader's record buffer
	readChunk  = 16 << 20
	directSize = 256 << 10 // records this large bypass the Writer's buffer
	maskDelta  = 0xa282ead8
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// MaskedCRC returns the masked CRC32C (Castagnoli) of b as TFRecord stores
// it: ((crc >> 15) | (crc << 17)) + 0xa282ead8.
func MaskedCRC(b []byte) uint32 {
	return mask(crc32.Checksum(b, castagnoli))
}

func mask(crc uint32) uint32 {
	return ((crc >> 15) | (crc << 17)) + maskDelta
}

// countingWriter counts the bytes passed to the underlying writer.
type countingWriter struct {
	w io.Writer
	n int64
}

// Write passes p on and counts what was written.
func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// errClosed is returned by Write after Close.
var errClosed = errors.New("tfrecord: write on closed Writer")

// Writer writes framed records to an io.Writer, buffering about 1 MiB. It is
// not safe for concurrent use.
type Writer struct {
	cw    countingWriter
	gz    *gzip.Writer
	dst   io.Writer     // &cw, or gz
	bw    *bufio.Writer // buffers dst
	hdr   [headerSize]byte
	ftr   [footerSize]byte
	count int
	err   error
}

// NewWriter returns a Writer that frames records onto w, compressed as c.
// Nothing reaches w before the internal buffer fills or Close is called.
func NewWriter(w io.Writer, c Compression) *Writer {
	tw := &Writer{cw: countingWriter{w: w}}
	var dst io.Writer = &tw.cw
	if c == Gzip {
		tw.gz = gzip.NewWriter(&tw.cw)
		dst = tw.gz
	}
	tw.dst = dst
	tw.bw = bufio.NewWriterSize(dst, bufferSize)
	return tw
}

// Write frames and writes one record. Records of 256 KiB or more are not
// copied: the buffer (ending with this record's header) is flushed and the
// record is passed as it is to the underlying writer (or the gzip
// compressor). Smaller records are buffered. The record must not be larger
// than MaxRecordSize. After an error every later Write returns it.
func (w *Writer) Write(record []byte) error {
	if w.err != nil {
		return w.err
	}
	if len(record) > MaxRecordSize {
		return fmt.Errorf("tfrecord: record of %d bytes exceeds MaxRecordSize (%d)", len(record), MaxRecordSize)
	}
	binary.LittleEndian.PutUint64(w.hdr[:8], uint64(len(record)))
	binary.LittleEndian.PutUint32(w.hdr[8:12], MaskedCRC(w.hdr[:8]))
	if _, err := w.bw.Write(w.hdr[:]); err != nil {
		w.err = err
		return err
	}
	if len(record) >= directSize {
		// Flush what is buffered, this header included, and hand the
		// record itself to the writer below without copying it.
		if err := w.bw.Flush(); err != nil {
			w.err = err
			return err
		}
		if _, err := w.dst.Write(record); err != nil {
			w.err = err
			return err
		}
	} else if _, err := w.bw.Write(record); err != nil {
		w.err = err
		return err
	}
	binary.LittleEndian.PutUint32(w.ftr[:], MaskedCRC(record))
	if _, err := w.bw.Write(w.ftr[:]); err != nil {
		w.err = err
		return err
	}
	w.count++
	return nil
}

// Close flushes the buffer and, for Gzip, ends the gzip stream. It does not
// close the underlying writer. Write after Close returns an error; a second
// Close returns nil, or the error the first one met.
func (w *Writer) Close() error {
	if w.err != nil {
		if w.err == errClosed {
			return nil
		}
		return w.err
	}
	if err := w.bw.Flush(); err != nil {
		w.err = err
		return err
	}
	if w.gz != nil {
		if err := w.gz.Close(); err != nil {
			w.err = err
			return err
		}
	}
	w.err = errClosed
	return nil
}

// Count returns the number of records written so far.
func (w *Writer) Count() int { return w.count }

// Bytes returns the number of bytes passed to the underlying writer so far,
// after compression. Buffered bytes count only once flushed, so the figure is
// the file's size after Close.
func (w *Writer) Bytes() int64 { return w.cw.n }

// CorruptError reports a record that cannot be read: a length or data CRC
// mismatch, a length beyond MaxRecordSize, a file that ends inside a record,
// or a damaged gzip stream.
type CorruptError struct {
	File   string // the name given to NewReader
	Offset int64  // byte offset of the record's start in the uncompressed stream
	Record int    // 0-based index of the record
	Reason string // what is wrong, e.g. "data crc mismatch"
	Err    error  // the underlying error, if any (gzip errors, io.ErrUnexpectedEOF)
}

// Error names the file, the record index and its offset, e.g.
// "tfrecord: train-00000-of-00004.tfrecord: record 12 at offset 7225344: data crc mismatch".
func (e *CorruptError) Error() string {
	file := ""
	if e.File != "" {
		file = e.File + ": "
	}
	return fmt.Sprintf("tfrecord: %srecord %d at offset %d: %s", file, e.Record, e.Offset, e.Reason)
}

// Unwrap returns the underlying error, if any.
func (e *CorruptError) Unwrap() error { return e.Err }

// Reader reads framed records from an io.Reader. It is not safe for
// concurrent use.
type Reader struct {
	src    io.Reader
	br     *bufio.Reader
	gz     *gzip.Reader
	gzip   bool
	name   string
	offset int64 // start of the next record in the uncompressed stream
	record int   // index of the next record
	hdr    [headerSize]byte
	ftr    [footerSize]byte
	buf    []byte
	err    error
	bad    int64 // bytes of the record whose data CRC failed, for Resume
}

// NewReader returns a Reader of the records in r, compressed as c. The name
// is used in error messages only (usually the file's path).
func NewReader(r io.Reader, c Compression, name string) *Reader {
	return &Reader{src: r, gzip: c == Gzip, name: name}
}

// Next returns the next record's data. It returns io.EOF when the stream ends
// cleanly between records, and a *CorruptError for damaged or truncated data;
// other errors come from the underlying reader. After an error every later
// call returns it again.
//
// The returned slice is valid only until the next call of Next, which may
// reuse its memory: copy it to keep it.
func (r *Reader) Next() ([]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	data, err := r.next()
	if err != nil {
		r.err = err
		return nil, err
	}
	r.offset += headerSize + int64(len(data)) + footerSize
	r.record++
	return data, nil
}

// ReasonDataCRC is the CorruptError reason of a record whose data does not
// match its CRC while its framing does.
const ReasonDataCRC = "data crc mismatch"

// Resume continues after a record whose data CRC did not match: its length
// was intact, so the next record starts right after it. It reports false, and
// the reader stays failed, after any other error; the framing can't be
// trusted then.
func (r *Reader) Resume() bool {
	var ce *CorruptError
	if !errors.As(r.err, &ce) || ce.Reason != ReasonDataCRC || r.bad == 0 {
		return false
	}
	r.offset += r.bad
	r.record++
	r.err, r.bad = nil, 0
	return true
}

// Offset returns the byte offset, in the uncompressed stream, of the record
// the next call of Next reads.
func (r *Reader) Offset() int64 { return r.offset }

// Count returns the number of records returned so far.
func (r *Reader) Count() int { return r.record }

func (r *Reader) next() ([]byte, error) {
	if r.br == nil {
		if err := r.open(); err != nil {
			return nil, err
		}
	}
	n, err := io.ReadFull(r.br, r.hdr[:])
	if err != nil {
		if err == io.EOF && n == 0 {
			return nil, io.EOF
		}
		return nil, r.readError("file ends inside the length header", err)
	}
	if binary.LittleEndian.Uint32(r.hdr[8:12]) != MaskedCRC(r.hdr[:8]) {
		return nil, r.corrupt("length crc mismatch", nil)
	}
	length := binary.LittleEndian.Uint64(r.hdr[:8])
	if length > MaxRecordSize {
		return nil, r.corrupt(fmt.Sprintf("length %d exceeds MaxRecordSize", length), nil)
	}
	if err := r.readData(int(length)); err != nil {
		return nil, r.readError("file ends inside the data", err)
	}
	if _, err := io.ReadFull(r.br, r.ftr[:]); err != nil {
		return nil, r.readError("file ends inside the data crc", err)
	}
	if binary.LittleEndian.Uint32(r.ftr[:]) != MaskedCRC(r.buf) {
		r.bad = headerSize + int64(length) + footerSize
		return nil, r.corrupt(ReasonDataCRC, nil)
	}
	return r.buf, nil
}

// open sets up the buffered (and, for Gzip, decompressing) source.
func (r *Reader) open() error {
	src := r.src
	if r.gzip {
		gz, err := gzip.NewReader(src)
		if err != nil {
			if err == io.EOF {
				// An empty file holds no records.
				r.br = bufio.NewReader(strings.NewReader(""))
				return nil
			}
			return r.readError("bad gzip header", err)
		}
		r.gz = gz
		src = gz
	}
	r.br = bufio.NewReaderSize(src, readBuffer)
	return nil
}

// readData reads n bytes into r.buf, in steps of at most readChunk, each
// no larger than what has already arrived (at least firstChunk), growing
// the buffer only when a step does not fit in it: a record that fits the
// buffer is read without allocating, and a length field larger than the
// file allocates no more than about twice the bytes actually present.
func (r *Reader) readData(n int) error {
	r.buf = r.buf[:0]
	for len(r.buf) < n {
		// Double what has arrived, starting at firstChunk, capped at
		// readChunk.
		k := min(n-len(r.buf), max(len(r.buf), firstChunk), readChunk)
		r.buf = slices.Grow(r.buf, k)
		start := len(r.buf)
		r.buf = r.buf[:start+k]
		if _, err := io.ReadFull(r.br, r.buf[start:]); err != nil {
			r.buf = r.buf[:start]
			return err
		}
	}
	return nil
}

func (r *Reader) corrupt(reason string, err error) *CorruptError {
	return &CorruptError{File: r.name, Offset: r.offset, Record: r.record, Reason: reason, Err: err}
}

// readError classifies an error met while reading inside a record: the end
// of the data and damaged gzip streams are corruption, with truncated as the
// reason for the former; anything else is an I/O error, wrapped with the
// position.
func (r *Reader) readError(truncated string, err error) error {
	var flateErr flate.CorruptInputError
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return r.corrupt(truncated, io.ErrUnexpectedEOF)
	case errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader), errors.As(err, &flateErr):
		return r.corrupt("gzip: "+err.Error(), err)
	}
	file := ""
	if r.name != "" {
		file = r.name + ": "
	}
	return fmt.Errorf("tfrecord: %srecord %d at offset %d: %w", file, r.record, r.offset, err)
}
