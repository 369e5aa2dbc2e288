package tfrecord

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzReader feeds arbitrary bytes to the Reader, plain and as gzip. It must
// not panic, must end with io.EOF or an error, and what it does accept must
// be exactly what the Writer would have produced for those records.
func FuzzReader(f *testing.F) {
	seeds := [][][]byte{
		nil,
		{{}},
		{[]byte("hello")},
		{[]byte("a"), {}, []byte("0123456789abcdef0123456789abcdef"), payload(300, 1)},
	}
	for _, records := range seeds {
		f.Add(encode(f, None, records), false)
		f.Add(encode(f, Gzip, records), true)
	}
	// A header claiming MaxRecordSize, with a valid CRC and no data.
	f.Add(header(MaxRecordSize), false)
	f.Add(append(header(1<<40), 1, 2, 3), false)

	f.Fuzz(func(t *testing.T, data []byte, gz bool) {
		c := None
		if gz {
			c = Gzip
		}
		r := NewReader(bytes.NewReader(data), c, "fuzz")
		var records [][]byte
		var err error
		for {
			var rec []byte
			rec, err = r.Next()
			if err != nil {
				break
			}
			records = append(records, bytes.Clone(rec))
			if len(records) > len(data) {
				t.Fatalf("%d records from %d bytes", len(records), len(data))
			}
		}
		if _, again := r.Next(); again != err {
			t.Fatalf("error not sticky: %v then %v", err, again)
		}
		if r.Count() != len(records) {
			t.Fatalf("Count %d, read %d", r.Count(), len(records))
		}
		var ce *CorruptError
		if err != io.EOF && !errors.As(err, &ce) {
			t.Fatalf("error %v (%T), want io.EOF or *CorruptError", err, err)
		}
		if ce != nil && (ce.Record != len(records) || ce.Offset != r.Offset()) {
			t.Fatalf("error at record %d offset %d, reader at %d, %d", ce.Record, ce.Offset, len(records), r.Offset())
		}
		if c != None {
			return
		}
		// The accepted prefix re-encodes to the same bytes.
		enc := encodeByHand(records)
		if int64(len(enc)) != r.Offset() || !bytes.HasPrefix(data, enc) {
			t.Fatalf("accepted %d records (%d bytes, offset %d) that do not re-encode to the input's prefix",
				len(records), len(enc), r.Offset())
		}
		if err == io.EOF && len(enc) != len(data) {
			t.Fatalf("io.EOF after %d of %d bytes", len(enc), len(data))
		}
	})
}
