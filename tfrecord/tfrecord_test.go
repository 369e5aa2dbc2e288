package tfrecord

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// payload returns n deterministic pseudo-random bytes.
func payload(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 42))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// encode frames records with a Writer and returns the file's bytes.
func encode(t testing.TB, c Compression, records [][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf, c)
	for _, rec := range records {
		if err := w.Write(rec); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return buf.Bytes()
}

// readAll reads records until an error and returns copies of them and the
// error (io.EOF at a clean end).
func readAll(r *Reader) ([][]byte, error) {
	var out [][]byte
	for {
		rec, err := r.Next()
		if err != nil {
			return out, err
		}
		out = append(out, bytes.Clone(rec))
	}
}

// bitwiseCRC32C is a slow, table-free CRC32C used to check the table-driven
// one independently.
func bitwiseCRC32C(b []byte) uint32 {
	crc := ^uint32(0)
	for _, x := range b {
		crc ^= uint32(x)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0x82f63b78
			} else {
				crc >>= 1
			}
		}
	}
	return ^crc
}

func TestMaskedCRC(t *testing.T) {
	tests := []struct {
		name   string
		data   []byte
		crc    uint32 // plain CRC32C
		masked uint32
	}{
		{"check value", []byte("123456789"), 0xe3069283, 0xc78ab0e5},
		{"empty", nil, 0, 0xa282ead8},
		{"zero length field", make([]byte, 8), 0x8c28b28a, 0x07980329},
		{"hello", []byte("hello"), 0x9a71bb4c, 0x191c1fbb},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := crc32.Checksum(tt.data, castagnoli); got != tt.crc {
				t.Errorf("CRC32C = %#08x, want %#08x", got, tt.crc)
			}
			if got := bitwiseCRC32C(tt.data); got != tt.crc {
				t.Errorf("bitwise CRC32C = %#08x, want %#08x", got, tt.crc)
			}
			if got := MaskedCRC(tt.data); got != tt.masked {
				t.Errorf("MaskedCRC = %#08x, want %#08x", got, tt.masked)
			}
		})
	}
	// The hardware path must agree with the bitwise one on odd lengths and
	// alignments.
	data := payload(4099, 1)
	for _, n := range []int{1, 7, 8, 9, 63, 64, 65, 255, 1024, 4099} {
		for _, off := range []int{0, 1, 3} {
			if n+off > len(data) {
				continue
			}
			b := data[off : off+n]
			if got, want := MaskedCRC(b), mask(bitwiseCRC32C(b)); got != want {
				t.Errorf("len %d off %d: MaskedCRC = %#08x, want %#08x", n, off, got, want)
			}
		}
	}
}

func TestCompressionFromPath(t *testing.T) {
	tests := []struct {
		name string
		want Compression
	}{
		{"train-00000-of-00004.tfrecord", None},
		{"train-00000-of-00004.tfrecord.gz", Gzip},
		{"gs://bucket/dir/x.gz", Gzip},
		{"x.gzip", None},
		{"x.gz.tfrecord", None},
		{"", None},
	}
	for _, tt := range tests {
		if got := CompressionFromPath(tt.name); got != tt.want {
			t.Errorf("CompressionFromPath(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// closeRecorder is a writer that notes whether Close was called.
type closeRecorder struct {
	bytes.Buffer
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

func TestRoundTrip(t *testing.T) {
	var varied [][]byte
	for i, n := range []int{0, 1, 11, 12, 13, 16, 4095, 4096, 1 << 20, 1<<20 + 7, 602112, 3 << 20, 0, 5} {
		varied = append(varied, payload(n, uint64(i)))
	}
	var many [][]byte
	for i := range 1000 {
		many = append(many, payload(i%97, uint64(i)))
	}
	tests := []struct {
		name    string
		records [][]byte
	}{
		{"no records", nil},
		{"one empty record", [][]byte{{}}},
		{"varied sizes", varied},
		{"many small", many},
	}
	for _, tt := range tests {
		for _, c := range []Compression{None, Gzip} {
			t.Run(fmt.Sprintf("%s/%v", tt.name, c), func(t *testing.T) {
				var out closeRecorder
				w := NewWriter(&out, c)
				for _, rec := range tt.records {
					if err := w.Write(rec); err != nil {
						t.Fatalf("Write: %v", err)
					}
				}
				if err := w.Close(); err != nil {
					t.Fatalf("Close: %v", err)
				}
				if out.closed {
					t.Error("Writer.Close closed the underlying writer")
				}
				if w.Count() != len(tt.records) {
					t.Errorf("Count = %d, want %d", w.Count(), len(tt.records))
				}
				if w.Bytes() != int64(out.Len()) {
					t.Errorf("Bytes = %d, underlying writer got %d", w.Bytes(), out.Len())
				}
				var raw int64
				for _, rec := range tt.records {
					raw += int64(len(rec)) + headerSize + footerSize
				}
				if c == None && w.Bytes() != raw {
					t.Errorf("uncompressed Bytes = %d, want %d", w.Bytes(), raw)
				}
				if c == None && !bytes.Equal(out.Bytes(), encodeByHand(tt.records)) {
					t.Error("output differs from the hand-assembled framing")
				}
				if c == Gzip && !bytes.HasPrefix(out.Bytes(), []byte{0x1f, 0x8b}) {
					t.Errorf("gzip output starts % x", out.Bytes()[:min(4, out.Len())])
				}
				if err := w.Write([]byte("late")); err == nil {
					t.Error("Write after Close succeeded")
				}
				if err := w.Close(); err != nil {
					t.Errorf("second Close: %v", err)
				}

				r := NewReader(bytes.NewReader(out.Bytes()), c, "rt")
				got, err := readAll(r)
				if err != io.EOF {
					t.Fatalf("read ended with %v, want io.EOF", err)
				}
				if len(got) != len(tt.records) {
					t.Fatalf("read %d records, want %d", len(got), len(tt.records))
				}
				for i := range got {
					if !bytes.Equal(got[i], tt.records[i]) {
						t.Errorf("record %d differs (len %d, want %d)", i, len(got[i]), len(tt.records[i]))
					}
				}
				if r.Count() != len(tt.records) || r.Offset() != raw {
					t.Errorf("Count, Offset = %d, %d; want %d, %d", r.Count(), r.Offset(), len(tt.records), raw)
				}
				if _, err := r.Next(); err != io.EOF {
					t.Errorf("Next after EOF = %v, want io.EOF", err)
				}
			})
		}
	}
}

// TestHandFramed checks interoperability with other TFRecord implementations:
// the framing is assembled byte by byte here with constants computed outside
// this package.
func TestHandFramed(t *testing.T) {
	tests := []struct {
		name      string
		data      []byte
		lengthCRC uint32
		dataCRC   uint32
	}{
		{"hello", []byte("hello"), 0x3e04b2ea, 0x191c1fbb},
		{"empty", []byte{}, 0x07980329, 0xa282ead8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var file []byte
			file = binary.LittleEndian.AppendUint64(file, uint64(len(tt.data)))
			file = binary.LittleEndian.AppendUint32(file, tt.lengthCRC)
			file = append(file, tt.data...)
			file = binary.LittleEndian.AppendUint32(file, tt.dataCRC)

			got, err := readAll(NewReader(bytes.NewReader(file), None, tt.name))
			if err != io.EOF {
				t.Fatalf("read ended with %v, want io.EOF", err)
			}
			if len(got) != 1 || !bytes.Equal(got[0], tt.data) {
				t.Fatalf("read %q, want [%q]", got, tt.data)
			}
			if w := encode(t, None, [][]byte{tt.data}); !bytes.Equal(w, file) {
				t.Errorf("Writer output\n% x\nwant\n% x", w, file)
			}
		})
	}
}

// threeRecords is a file of records of 10, 20 and 30 bytes, which start at
// offsets 0, 26 and 62.
func threeRecords(t *testing.T) ([][]byte, []byte) {
	records := [][]byte{payload(10, 1), payload(20, 2), payload(30, 3)}
	return records, encode(t, None, records)
}

func TestCorruption(t *testing.T) {
	records, clean := threeRecords(t)
	tests := []struct {
		name   string
		flip   int // index of the byte to flip
		record int
		offset int64
		reason string
	}{
		{"length of record 0", 0, 0, 0, "length crc mismatch"},
		{"high length byte of record 1", 26 + 7, 1, 26, "length crc mismatch"},
		{"length crc of record 1", 26 + 9, 1, 26, "length crc mismatch"},
		{"data of record 0", 12, 0, 0, "data crc mismatch"},
		{"data of record 1", 26 + 12 + 19, 1, 26, "data crc mismatch"},
		{"data crc of record 1", 26 + 12 + 20, 1, 26, "data crc mismatch"},
		{"data crc of record 2", 62 + 12 + 30 + 3, 2, 62, "data crc mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := bytes.Clone(clean)
			file[tt.flip] ^= 0x01
			name := "train-00000-of-00004.tfrecord"
			got, err := readAll(NewReader(bytes.NewReader(file), None, name))
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v (%T), want *CorruptError", err, err)
			}
			if ce.Record != tt.record || ce.Offset != tt.offset || ce.Reason != tt.reason || ce.File != name {
				t.Errorf("got %+v, want record %d offset %d reason %q", *ce, tt.record, tt.offset, tt.reason)
			}
			want := fmt.Sprintf("tfrecord: %s: record %d at offset %d: %s", name, tt.record, tt.offset, tt.reason)
			if err.Error() != want {
				t.Errorf("Error() = %q, want %q", err.Error(), want)
			}
			if len(got) != tt.record {
				t.Fatalf("got %d good records before the error, want %d", len(got), tt.record)
			}
			for i := range got {
				if !bytes.Equal(got[i], records[i]) {
					t.Errorf("record %d differs", i)
				}
			}
		})
	}
}

func TestTruncation(t *testing.T) {
	_, clean := threeRecords(t)
	tests := []struct {
		name    string
		size    int // bytes kept
		good    int // records read before the error
		corrupt bool
		offset  int64
		reason  string
	}{
		{"empty file", 0, 0, false, 0, ""},
		{"at a record boundary", 62, 2, false, 0, ""},
		{"whole file", len(clean), 3, false, 0, ""},
		{"inside length", 3, 0, true, 0, "file ends inside the length header"},
		{"inside length crc", 26 + 10, 1, true, 26, "file ends inside the length header"},
		{"right after header", 26 + 12, 1, true, 26, "file ends inside the data"},
		{"inside data", 62 + 12 + 15, 2, true, 62, "file ends inside the data"},
		{"right after data", 62 + 12 + 30, 2, true, 62, "file ends inside the data crc"},
		{"inside data crc", len(clean) - 1, 2, true, 62, "file ends inside the data crc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAll(NewReader(bytes.NewReader(clean[:tt.size]), None, "cut"))
			if len(got) != tt.good {
				t.Errorf("read %d records, want %d", len(got), tt.good)
			}
			if !tt.corrupt {
				if err != io.EOF {
					t.Fatalf("error %v, want io.EOF", err)
				}
				return
			}
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v (%T), want *CorruptError", err, err)
			}
			if ce.Record != tt.good || ce.Offset != tt.offset || ce.Reason != tt.reason {
				t.Errorf("got %+v, want record %d offset %d reason %q", *ce, tt.good, tt.offset, tt.reason)
			}
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("error %v does not wrap io.ErrUnexpectedEOF", err)
			}
		})
	}
}

func TestGzipDamage(t *testing.T) {
	records := [][]byte{payload(1000, 1), payload(2000, 2), payload(3000, 3)}
	clean := encode(t, Gzip, records)
	tests := []struct {
		name string
		file func() []byte
	}{
		{"truncated stream", func() []byte { return clean[:len(clean)/2] }},
		{"missing trailer", func() []byte { return clean[:len(clean)-8] }},
		{"bad trailer crc", func() []byte {
			b := bytes.Clone(clean)
			b[len(b)-6] ^= 0xff
			return b
		}},
		{"bad magic", func() []byte {
			b := bytes.Clone(clean)
			b[0] = 'x'
			return b
		}},
		{"damaged deflate data", func() []byte {
			b := bytes.Clone(clean)
			for i := 20; i < len(b)-8; i += 50 {
				b[i] ^= 0x5a
			}
			return b
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readAll(NewReader(bytes.NewReader(tt.file()), Gzip, "x.tfrecord.gz"))
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v (%T), want *CorruptError", err, err)
			}
			if !strings.Contains(err.Error(), "x.tfrecord.gz") {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
	// An empty .gz file holds no records.
	if _, err := NewReader(bytes.NewReader(nil), Gzip, "").Next(); err != io.EOF {
		t.Errorf("empty gzip file: %v, want io.EOF", err)
	}
	// A gzip member with nothing inside also holds no records.
	var empty bytes.Buffer
	gz := gzip.NewWriter(&empty)
	gz.Close()
	if _, err := NewReader(&empty, Gzip, "").Next(); err != io.EOF {
		t.Errorf("empty gzip stream: %v, want io.EOF", err)
	}
}

// header returns a record header claiming length n, with a correct CRC.
func header(n uint64) []byte {
	h := binary.LittleEndian.AppendUint64(nil, n)
	return binary.LittleEndian.AppendUint32(h, MaskedCRC(h))
}

func TestHugeLength(t *testing.T) {
	tests := []struct {
		name   string
		length uint64
		reason string
	}{
		{"above MaxRecordSize", MaxRecordSize + 1, fmt.Sprintf("length %d exceeds MaxRecordSize", MaxRecordSize+1)},
		{"near 2^64", 1<<64 - 1, "length 18446744073709551615 exceeds MaxRecordSize"},
		{"MaxRecordSize but little data", MaxRecordSize, "file ends inside the data"},
		{"100 MB but little data", 100 << 20, "file ends inside the data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := append(header(tt.length), payload(5000, 9)...)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := NewReader(bytes.NewReader(file), None, "hostile").Next()
			runtime.ReadMemStats(&after)
			var ce *CorruptError
			if !errors.As(err, &ce) || ce.Reason != tt.reason {
				t.Fatalf("error %v, want *CorruptError with reason %q", err, tt.reason)
			}
			// bufio's buffer and one first chunk, both 1 MiB, and change.
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
				t.Errorf("allocated %d bytes reading a %d-byte file", alloc, len(file))
			}
		})
	}
}

// errReader returns some bytes and then an error.
type errReader struct {
	data []byte
	err  error
}

func (e *errReader) Read(p []byte) (int, error) {
	if len(e.data) == 0 {
		return 0, e.err
	}
	n := copy(p, e.data)
	e.data = e.data[n:]
	return n, nil
}

// errWriter fails every write.
type errWriter struct{ err error }

func (e errWriter) Write([]byte) (int, error) { return 0, e.err }

func TestIOErrors(t *testing.T) {
	boom := errors.New("boom")
	_, clean := threeRecords(t)
	tests := []struct {
		name string
		data []byte
		good int
	}{
		{"at start", nil, 0},
		{"at boundary", clean[:26], 1},
		{"inside header", clean[:30], 1},
		{"inside data", clean[:40], 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAll(NewReader(&errReader{tt.data, boom}, None, "f"))
			if len(got) != tt.good {
				t.Errorf("read %d records, want %d", len(got), tt.good)
			}
			var ce *CorruptError
			if !errors.Is(err, boom) || errors.As(err, &ce) {
				t.Errorf("error %v (%T), want a plain error wrapping boom", err, err)
			}
		})
	}

	for _, c := range []Compression{None, Gzip} {
		w := NewWriter(errWriter{boom}, c)
		var err error
		for range 3 {
			if err = w.Write(payload(600000, 1)); err != nil {
				break
			}
		}
		if err == nil {
			err = w.Close()
		}
		if !errors.Is(err, boom) {
			t.Errorf("%v: write error %v, want boom", c, err)
		}
		if err := w.Close(); !errors.Is(err, boom) {
			t.Errorf("%v: Close after failure = %v, want boom", c, err)
		}
	}
}

// TestWriterNoCopy checks that large records reach the underlying writer as
// the caller's own slices, not copies, and that the bytes still frame right.
func TestWriterNoCopy(t *testing.T) {
	tests := []struct {
		name   string
		sizes  []int
		direct int // records that must arrive uncopied
	}{
		{"one float image", []int{602112}, 1},
		{"small, large, small, large", []int{100, 602112, 7, 3 << 20}, 2},
		{"at the threshold", []int{directSize - 1, directSize}, 1},
		{"all small", []int{1000, 2000, 3000}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var records [][]byte
			for i, n := range tt.sizes {
				records = append(records, payload(n, uint64(i)))
			}
			var out bytes.Buffer
			direct := 0
			sink := writerFunc(func(p []byte) (int, error) {
				for _, rec := range records {
					if len(rec) > 0 && len(p) == len(rec) && &p[0] == &rec[0] {
						direct++
					}
				}
				return out.Write(p)
			})
			w := NewWriter(sink, None)
			for _, rec := range records {
				if err := w.Write(rec); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if direct != tt.direct {
				t.Errorf("%d records passed uncopied, want %d", direct, tt.direct)
			}
			if want := encodeByHand(records); !bytes.Equal(out.Bytes(), want) {
				t.Error("output differs from the hand-assembled framing")
			}
		})
	}
}

// encodeByHand frames records without the Writer.
func encodeByHand(records [][]byte) []byte {
	var b []byte
	for _, rec := range records {
		b = append(b, header(uint64(len(rec)))...)
		b = append(b, rec...)
		b = binary.LittleEndian.AppendUint32(b, mask(bitwiseCRC32C(rec)))
	}
	return b
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestCorruptErrorMessage(t *testing.T) {
	tests := []struct {
		err  CorruptError
		want string
	}{
		{CorruptError{File: "train-00000-of-00004.tfrecord", Offset: 7225344, Record: 12, Reason: "data crc mismatch"},
			"tfrecord: train-00000-of-00004.tfrecord: record 12 at offset 7225344: data crc mismatch"},
		{CorruptError{Offset: 0, Record: 0, Reason: "length crc mismatch"},
			"tfrecord: record 0 at offset 0: length crc mismatch"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func BenchmarkWrite(b *testing.B) {
	rec := payload(602112, 1)
	b.SetBytes(int64(len(rec)))
	w := NewWriter(io.Discard, None)
	for b.Loop() {
		if err := w.Write(rec); err != nil {
			b.Fatal(err)
		}
	}
	w.Close()
}

func BenchmarkRead(b *testing.B) {
	rec := payload(602112, 1)
	var records [][]byte
	for range 64 {
		records = append(records, rec)
	}
	file := encode(b, None, records)
	b.SetBytes(int64(len(rec)))
	r := NewReader(bytes.NewReader(file), None, "")
	for b.Loop() {
		if _, err := r.Next(); err == io.EOF {
			r = NewReader(bytes.NewReader(file), None, "")
		} else if err != nil {
			b.Fatal(err)
		}
	}
}

func TestWriteAllocs(t *testing.T) {
	tests := []struct {
		name string
		size int
	}{
		{"small, buffered", 1000},
		{"float image, direct", 602112},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := payload(tt.size, 1)
			w := NewWriter(io.Discard, None)
			if allocs := testing.AllocsPerRun(100, func() { w.Write(rec) }); allocs != 0 {
				t.Errorf("Write made %v allocations, want 0", allocs)
			}
		})
	}
}

// TestReadAllocs: once the first record has sized the buffer, reading
// records of the same size or smaller allocates nothing: the float image
// of ingest (602,112 bytes, under firstChunk) and a 3 MB record (read in
// steps of 1, 1 and 2 MB), each followed by a record of 10 bytes.
func TestReadAllocs(t *testing.T) {
	for _, size := range []int{602112, 3 << 20} {
		big, small := payload(size, 1), payload(10, 2)
		var records [][]byte
		for range 22 {
			records = append(records, big, small)
		}
		r := NewReader(bytes.NewReader(encode(t, None, records)), None, "")
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
		i := 1
		allocs := testing.AllocsPerRun(20, func() {
			for range 2 {
				rec, err := r.Next()
				if err != nil || !bytes.Equal(rec, records[i]) {
					t.Fatalf("record %d: %d bytes, %v; want %d", i, len(rec), err, len(records[i]))
				}
				i++
			}
		})
		if allocs != 0 {
			t.Errorf("%d-byte records: Next made %v allocations a pair, want 0", size, allocs)
		}
	}
}

// fiveRecords is an uncompressed file of 5 records: record i is 100+i
// bytes of the letter 'a'+i.
func fiveRecords(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	w := NewWriter(&b, None)
	for i := 0; i < 5; i++ {
		if err := w.Write(bytes.Repeat([]byte{byte('a' + i)}, 100+i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestResume: a flipped byte inside one record's data is skipped and the
// following records are still read; a damaged length is not resumable.
func TestResume(t *testing.T) {
	orig := fiveRecords(t)
	data := append([]byte(nil), orig...)
	// Record 2 starts after records 0 and 1 (16 bytes of framing each).
	start2 := int64(16+100) + int64(16+101)
	data[start2+12+50] ^= 0xff
	r := NewReader(bytes.NewReader(data), None, "x")
	var got []byte
	skipped := 0
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			var ce *CorruptError
			if !errors.As(err, &ce) || ce.Offset != start2 || ce.Record != 2 || !r.Resume() {
				t.Fatalf("error %v at record %d", err, r.Count())
			}
			skipped++
			continue
		}
		got = append(got, rec[0])
	}
	if string(got) != "abde" || skipped != 1 {
		t.Errorf("read %q, skipped %d; want abde and 1", got, skipped)
	}
	// A damaged length is final.
	data2 := append([]byte(nil), orig...)
	data2[int64(16+100)+2] ^= 0xff
	r = NewReader(bytes.NewReader(data2), None, "y")
	r.Next()
	if _, err := r.Next(); err == nil || r.Resume() {
		t.Errorf("a damaged length must not resume (err %v)", err)
	}
}

// TestResumePositions: after Resume skips a record, Offset and the record
// number of a later error count the skipped record: records 1 and 3 of 5
// (100, 101, ... bytes, 16 bytes of framing each) are damaged; the second
// error is at record 3, offset 16·3 + 100 + 101 + 102, and once all is read
// Offset is the file's size.
func TestResumePositions(t *testing.T) {
	data := fiveRecords(t)
	start := func(i int) int64 { // offset of record i, worked out from the sizes
		o := int64(0)
		for j := 0; j < i; j++ {
			o += 16 + int64(100+j)
		}
		return o
	}
	data[start(1)+12+3] ^= 0xff
	data[start(3)+12+3] ^= 0xff
	r := NewReader(bytes.NewReader(data), None, "")
	var errs []string
	for {
		_, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			var ce *CorruptError
			if !errors.As(err, &ce) || !r.Resume() {
				t.Fatalf("error %v, want a resumable data crc error", err)
			}
			errs = append(errs, fmt.Sprintf("record %d at %d", ce.Record, ce.Offset))
			if r.Offset() != ce.Offset+16+int64(100+ce.Record) {
				t.Errorf("after resuming at record %d: offset %d, want %d", ce.Record, r.Offset(), ce.Offset+16+int64(100+ce.Record))
			}
		}
	}
	want := []string{fmt.Sprintf("record 1 at %d", start(1)), fmt.Sprintf("record 3 at %d", start(3))}
	if !reflect.DeepEqual(errs, want) || r.Offset() != int64(len(data)) {
		t.Errorf("errors %v, final offset %d; want %v and %d", errs, r.Offset(), want, len(data))
	}
}

// TestReaderReusesBuffer: a record no longer than the one before is read
// into the same memory (the slice Next returns is valid until the next
// call).
func TestReaderReusesBuffer(t *testing.T) {
	r := NewReader(bytes.NewReader(encode(t, None, [][]byte{[]byte("abcd"), []byte("wxyz")})), None, "f")
	first, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	p := &first[0]
	second, err := r.Next()
	if err != nil || string(second) != "wxyz" || &second[0] != p {
		t.Errorf("second record %q, %v; reused the first's memory: %v", second, err, err == nil && &second[0] == p)
	}
}

// TestIOErrorNaming: an I/O error inside a record names the file when the
// reader has a name, and starts with the record number when it has none.
func TestIOErrorNaming(t *testing.T) {
	boom := errors.New("boom")
	_, clean := threeRecords(t)
	for _, tc := range []struct{ name, want string }{
		{"shard.tfrecord", "tfrecord: shard.tfrecord: record 0 at offset 0: boom"},
		{"", "tfrecord: record 0 at offset 0: boom"},
	} {
		r := NewReader(&errReader{data: clean[:20], err: boom}, None, tc.name)
		_, err := r.Next()
		if err == nil || err.Error() != tc.want || !errors.Is(err, boom) {
			t.Errorf("name %q: %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestWriteMaxRecordSize: a record of exactly MaxRecordSize bytes is
// written, one byte more is refused. The 1 GiB record is zeros the test
// never writes to, so the OS lends it zero pages: it costs address space
// and a CRC pass, not resident memory.
func TestWriteMaxRecordSize(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: reads a 1 GiB record")
	}
	big := make([]byte, MaxRecordSize+1)
	var n int64
	w := NewWriter(writerFunc(func(p []byte) (int, error) { n += int64(len(p)); return len(p), nil }), None)
	if err := w.Write(big[:MaxRecordSize]); err != nil {
		t.Fatalf("a record of MaxRecordSize bytes: %v", err)
	}
	if err := w.Close(); err != nil || n != MaxRecordSize+16 {
		t.Errorf("wrote %d bytes, %v; want %d", n, err, MaxRecordSize+16)
	}
	w = NewWriter(writerFunc(func(p []byte) (int, error) { return len(p), nil }), None)
	if err := w.Write(big); err == nil || !strings.Contains(err.Error(), "exceeds MaxRecordSize") {
		t.Errorf("a record of MaxRecordSize+1 bytes: %v, want refused", err)
	}
}
