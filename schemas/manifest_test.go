package schemas

import (
	"encoding/json"
	"strings"
	"testing"
)

// validManifest is a small manifest as ingest writes it: 5 inputs, 4
// written in two splits, 1 rejected.
const validManifest = `{
  "format_version": 1,
  "parameters": {"image_size": 64, "encoding": "uint8", "split": "train=0.5,test=0.5"},
  "counts": {"inputs": 5, "written": 4, "rejected": 1},
  "splits": [
    {"name": "train", "records": 3, "bytes": 30, "shards": [
      {"file": "tfrecords/train-00000-of-00002.tfrecord", "records": 2, "bytes": 20, "sha256": "aa"},
      {"file": "tfrecords/train-00001-of-00002.tfrecord", "records": 1, "bytes": 10, "sha256": "bb"}]},
    {"name": "test", "records": 1, "bytes": 10, "shards": [
      {"file": "tfrecords/test-00000-of-00001.tfrecord", "records": 1, "bytes": 10, "sha256": "cc"}]}
  ],
  "rejects": {"file": "rejects.parquet", "records": 1, "bytes": 100, "sha256": "dd"},
  "stats": [{"file": "stats/age_summary.parquet", "records": 2, "bytes": 50, "sha256": "ee"}]
}`

// TestParseManifest: a manifest as ingest writes it parses; each way a
// damaged or hostile one goes wrong is refused, naming the field.
func TestParseManifest(t *testing.T) {
	m, err := ParseManifest([]byte(validManifest))
	if err != nil {
		t.Fatalf("valid manifest refused: %v", err)
	}
	if m.Split("train").Records != 3 || len(m.Split("train").Shards) != 2 || m.Split("valid") != nil {
		t.Errorf("parsed %+v", m.Splits)
	}
	for _, c := range []struct{ name, old, new, want string }{
		{"format", `"format_version": 1`, `"format_version": 2`, "format version 2"},
		{"counts", `"inputs": 5`, `"inputs": 6`, "counts: 6 inputs"},
		{"negative counts", `"inputs": 5, "written": 4, "rejected": 1`, `"inputs": 0, "written": 4, "rejected": -4`, "counts: 0 inputs"},
		{"huge image", `"image_size": 64`, `"image_size": 100000`, "parameters.image_size 100000"},
		{"no image size", `"image_size": 64`, `"image_size": 0`, "parameters.image_size 0"},
		{"escaping shard", `tfrecords/train-00001-of-00002.tfrecord`, `../../etc/passwd`, `splits[0].shards[1]: file "../../etc/passwd"`},
		{"absolute shard", `tfrecords/test-00000-of-00001.tfrecord`, `/etc/passwd`, `splits[1].shards[0]: file "/etc/passwd"`},
		{"unclean shard", `tfrecords/test-00000-of-00001.tfrecord`, `tfrecords/../../x`, `splits[1].shards[0]: file "tfrecords/../../x"`},
		{"negative shard", `"records": 1, "bytes": 10, "sha256": "bb"`, `"records": 1, "bytes": -10, "sha256": "bb"`, "splits[0].shards[1]: file tfrecords/train-00001-of-00002.tfrecord: 1 records, -10 bytes"},
		{"split records", `"name": "train", "records": 3`, `"name": "train", "records": 30`, "splits[0] (train): 30 records but its shards hold 3"},
		{"written", `"written": 4, "rejected": 1`, `"written": 3, "rejected": 2`, "counts.written 3 but the splits hold 4"},
		{"split name", `"name": "test"`, `"name": "a+b"`, `splits[1].name "a+b"`},
		{"rejects", `"file": "rejects.parquet"`, `"file": "../rejects.parquet"`, `rejects: file "../rejects.parquet"`},
		{"stats", `stats/age_summary.parquet`, `/tmp/x.parquet`, `stats[0]: file "/tmp/x.parquet"`},
		{"json", `"splits": [`, `"splits": {`, "manifest: "},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := strings.Replace(validManifest, c.old, c.new, 1)
			if data == validManifest {
				t.Fatalf("the case changes nothing")
			}
			_, err := ParseManifest([]byte(data))
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %v, want one line containing %q", err, c.want)
			}
		})
	}
}

// FuzzParseManifest: whatever the bytes, ParseManifest never panics, and a
// manifest it accepts keeps every file inside the output folder and its
// counts consistent, and parses again the same after a round trip.
func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(validManifest))
	f.Add([]byte(`{"format_version":1,"parameters":{"image_size":1},"counts":{}}`))
	f.Add([]byte(`{"format_version":1,"splits":[{"name":"x","shards":[{"file":".."}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data)
		if err != nil {
			return
		}
		n := 0
		for _, sp := range m.Splits {
			for _, sh := range sp.Shards {
				if strings.HasPrefix(sh.File, "/") || sh.File == ".." || strings.HasPrefix(sh.File, "../") || sh.Records < 0 {
					t.Fatalf("accepted shard %+v", sh)
				}
				n += sh.Records
			}
		}
		if n != m.Counts.Written || m.Counts.Inputs != m.Counts.Written+m.Counts.Rejected {
			t.Fatalf("accepted counts %+v with %d records in the shards", m.Counts, n)
		}
		again, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseManifest(again); err != nil {
			t.Fatalf("a round trip of an accepted manifest is refused: %v", err)
		}
	})
}
