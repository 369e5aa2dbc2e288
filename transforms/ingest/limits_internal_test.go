package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facepipe/facepipe/schemas"
)

// TestInspectBytesUnknownWhenUnreadable: a file that cannot be read gets
// bytes −1 (unknown), as Outcome documents, whether its name is also bad
// (the name's reason wins) or not.
func TestInspectBytesUnknownWhenUnreadable(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, reason string }{
		{"not_a_utkface_name.jpg", schemas.ReasonNameUnparseable},
		{"30_0_0_20170116174525125.jpg.chip.jpg", schemas.ReasonReadError},
	} {
		_, o := inspectFile(context.Background(), filepath.Join(dir, tc.name), 0, 0) // no such file
		if o == nil || o.Reason != tc.reason || o.Bytes != -1 || o.SHA256 != "" {
			t.Errorf("%s, missing: outcome %+v; want reason %s, bytes -1, no sha256", tc.name, o, tc.reason)
		}
	}
}

func jpegFile(t *testing.T, path string, level uint8) []byte {
	t.Helper()
	m := image.NewGray(image.Rect(0, 0, 16, 16))
	for i := range m.Pix {
		m.Pix[i] = level
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, m, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func digestOf(b []byte) string {
	d := sha256.Sum256(b)
	return hex.EncodeToString(d[:])
}

// TestEncodeChecksContentAndSize: the shard writer rejects a file whose
// content changed since Inspect hashed it (read_error naming both digests),
// and a file that grew past MaxFileBytes since (too_large, read no further
// than the limit); the file as inspected is written.
func TestEncodeChecksContentAndSize(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "30_0_0_20170116174525125.jpg.chip.jpg")
	before := jpegFile(t, path, 90)
	it := Item{Path: path, Name: filepath.Base(path), Size: int64(len(before)), SHA256: digestOf(before), Age: 30, Split: "train", Width: 16, Height: 16}
	fn := &writeShardFn{Encoding: schemas.EncodingUint8, ImageSize: 8, MaxPixels: 1 << 20, MaxFileBytes: 1 << 20}
	enc := &encoder{fn: fn}

	rec, o, err := enc.encode(context.Background(), &it, nil)
	if err != nil || rec == nil || o.Status != StatusWritten {
		t.Fatalf("unchanged file: record of %d bytes, outcome %+v, %v; want written", len(rec), o, err)
	}

	after := jpegFile(t, path, 200) // rewritten during the run
	rec, o, err = enc.encode(context.Background(), &it, nil)
	if err != nil || rec != nil || o.Status != StatusRejected || o.Reason != schemas.ReasonReadError ||
		!strings.Contains(o.Detail, "content changed during the run") || !strings.Contains(o.Detail, digestOf(after)) || !strings.Contains(o.Detail, it.SHA256) {
		t.Errorf("rewritten file: record of %d bytes, outcome %+v, %v; want a read_error naming both digests", len(rec), o, err)
	}

	fn.MaxFileBytes = int64(len(after)) - 1 // the file grew past the limit
	rec, o, err = enc.encode(context.Background(), &it, nil)
	if err != nil || rec != nil || o.Reason != schemas.ReasonTooLarge || !strings.Contains(o.Detail, "over the limit") {
		t.Errorf("file over the limit: record of %d bytes, outcome %+v, %v; want too_large", len(rec), o, err)
	}
}

// TestAutomaticShardCount: with --num_shards=0 a split of B estimated bytes
// gets ⌈B / --shard_mb⌉ shards, so that none is expected over --shard_mb.
func TestAutomaticShardCount(t *testing.T) {
	const mb = 1 << 20
	for _, tc := range []struct {
		bytes  int64
		shards int
	}{
		{1, 1}, {mb - 1, 1}, {mb, 1}, {mb + 1, 2}, {5 * mb / 2, 3}, {3 * mb, 3}, {3*mb + 1, 4},
	} {
		fn := &assignShardFn{ShardMB: 1, Seed: 1}
		items := []Item{{SHA256: digestOf([]byte("a"))}, {SHA256: digestOf([]byte("b"))}}
		next := 0
		iter := func(it *Item) bool {
			if next == len(items) {
				return false
			}
			*it = items[next]
			next++
			return true
		}
		sent := false
		size := func(b *int64) bool {
			if sent {
				return false
			}
			*b, sent = tc.bytes, true
			return true
		}
		var stems []string
		if err := fn.ProcessElement("train", iter, size, func(stem string, _ Item) { stems = append(stems, stem) }); err != nil {
			t.Fatal(err)
		}
		for _, stem := range stems {
			_, _, of, err := ParseShardName(stem)
			if err != nil || of != tc.shards {
				t.Errorf("%d bytes at 1 MB a shard: %s, want %d shards", tc.bytes, stem, tc.shards)
			}
		}
	}
}
