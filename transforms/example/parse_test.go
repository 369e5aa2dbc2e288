package example

import (
	"reflect"
	"testing"

	"google.golang.org/protobuf/proto"
)

func TestParseAgreesWithDecode(t *testing.T) {
	img := make([]float32, 4*3*3)
	for i := range img {
		img[i] = float32(i) / 40
	}
	records := []*Record{
		{Image: img, Age: 26, Gender: 1, Race: -1, Filename: "26_1_x.jpg", SHA256: "ab", Split: "train", Height: 4, Width: 3, Channels: 3},
		{ImageRaw: []byte{1, 2, 3, 4, 5, 6}, Age: 1, Gender: 0, Race: 4, Filename: "f", SHA256: "s", Split: "test", Height: 1, Width: 2, Channels: 3},
		{ImageJPEG: []byte{0xff, 0xd8, 0xff}, Age: 120, Gender: 1, Race: 0, Filename: "", SHA256: "", Split: "valid", Height: 200, Width: 200, Channels: 3},
	}
	var r Record
	for _, want := range records {
		b := AppendEncode(nil, want)
		if err := Parse(b, &r); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(&r, want) {
			t.Errorf("Parse = %+v, want %+v", r, *want)
		}
		// Unpacked lists, as other writers may produce, parse the same.
		ex := ToProto(want)
		unpacked, err := proto.MarshalOptions{Deterministic: true}.Marshal(ex)
		if err != nil {
			t.Fatal(err)
		}
		d, err := Decode(unpacked)
		if err != nil {
			t.Fatal(err)
		}
		if err := Parse(unpacked, &r); err != nil || !reflect.DeepEqual(&r, d) {
			t.Errorf("Parse of the marshaler's bytes = %+v, %v; Decode gives %+v", r, err, d)
		}
	}
}

func TestParseRejects(t *testing.T) {
	good := AppendEncode(nil, &Record{ImageRaw: []byte{1, 2, 3}, Age: 3, Height: 1, Width: 1, Channels: 3, Split: "x"})
	var r Record
	for name, b := range map[string][]byte{
		"truncated": good[:len(good)-3],
		"empty":     {},
		"garbage":   {0xff, 0xff, 0xff},
	} {
		if err := Parse(b, &r); err == nil {
			t.Errorf("%s: Parse succeeded", name)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(AppendEncode(nil, &Record{ImageRaw: []byte{1, 2, 3}, Age: 3, Height: 1, Width: 1, Channels: 3}))
	f.Add(AppendEncode(nil, &Record{Image: []float32{1, 2, 3}, Age: 3, Race: -1, Height: 1, Width: 1, Channels: 3}))
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Record
		if err := Parse(b, &r); err == nil {
			if err := r.Validate(); err != nil {
				t.Fatalf("Parse accepted an invalid record: %v", err)
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	img := make([]float32, 224*224*3)
	data := AppendEncode(nil, &Record{Image: img, Age: 3, Height: 224, Width: 224, Channels: 3, Filename: "x", SHA256: "y", Split: "train"})
	b.SetBytes(int64(len(data)))
	var r Record
	for i := 0; i < b.N; i++ {
		if err := Parse(data, &r); err != nil {
			b.Fatal(err)
		}
	}
}
