package dataset_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/facepipe/facepipe/dataset"
	"github.com/facepipe/facepipe/example"
	"github.com/facepipe/facepipe/tfrecord"
)

// TestRecordWithOneChannel: a shard record that declares one channel (a
// valid Example: its image_raw holds height×width×1 values) is reported as
// an error naming the shard and the image, not read as RGB; it made a
// decode goroutine panic, killing training.
func TestRecordWithOneChannel(t *testing.T) {
	src, shard, path, data := firstTrainShard(t)
	r := tfrecord.NewReader(bytes.NewReader(data), tfrecord.None, path)
	var out bytes.Buffer
	w := tfrecord.NewWriter(&out, tfrecord.None)
	var gray string
	for i := 0; ; i++ {
		b, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			rec, err := example.Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			rec.Channels, rec.ImageRaw = 1, rec.ImageRaw[:rec.Height*rec.Width]
			if err := rec.Validate(); err != nil {
				t.Fatalf("the one-channel record is not a valid Example: %v", err)
			}
			gray = rec.Filename
			b = example.AppendEncode(nil, rec)
		}
		if err := w.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if gray == "" {
		t.Fatalf("%s holds fewer than 2 records", shard.File)
	}
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	rd, err := src.Read(context.Background(), dataset.Options{Split: "train", InputSize: 16, BatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var rerr error
	for rerr == nil {
		_, rerr = rd.Next()
	}
	if rerr == io.EOF || !strings.Contains(rerr.Error(), shard.File) || !strings.Contains(rerr.Error(), gray) || !strings.Contains(rerr.Error(), "1 channels, want 3") {
		t.Errorf("got %v, want an error naming %s, %s and its channels", rerr, shard.File, gray)
	}
}
