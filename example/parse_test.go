package example

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
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

// TestParseUnpackedLists parses an Example encoded by hand on the wire with
// unpacked numeric lists, as proto2-era writers and other tools may emit
// them (legal protobuf: a repeated scalar field may come one tag per
// value): every int64 as its own varint field, every float as its own
// fixed32 field, features in any order. The expected record is written out
// by hand, not decoded by another path of this package.
func TestParseUnpackedLists(t *testing.T) {
	bytesList := func(v string) []byte { // Feature{bytes_list: BytesList{value: [v]}}
		list := protowire.AppendTag(nil, 1, protowire.BytesType)
		list = protowire.AppendString(list, v)
		f := protowire.AppendTag(nil, 1, protowire.BytesType)
		return protowire.AppendBytes(f, list)
	}
	unpackedInts := func(vs ...int64) []byte { // Feature{int64_list: Int64List{value: vs}}, one tag each
		var list []byte
		for _, v := range vs {
			list = protowire.AppendTag(list, 1, protowire.VarintType)
			list = protowire.AppendVarint(list, uint64(v))
		}
		f := protowire.AppendTag(nil, 3, protowire.BytesType)
		return protowire.AppendBytes(f, list)
	}
	unpackedFloats := func(vs ...float32) []byte { // Feature{float_list: FloatList{value: vs}}, one tag each
		var list []byte
		for _, v := range vs {
			list = protowire.AppendTag(list, 1, protowire.Fixed32Type)
			list = protowire.AppendFixed32(list, math.Float32bits(v))
		}
		f := protowire.AppendTag(nil, 2, protowire.BytesType)
		return protowire.AppendBytes(f, list)
	}
	var features []byte
	add := func(key string, feature []byte) { // Features.feature map entry
		entry := protowire.AppendTag(nil, 1, protowire.BytesType)
		entry = protowire.AppendString(entry, key)
		entry = protowire.AppendTag(entry, 2, protowire.BytesType)
		entry = protowire.AppendBytes(entry, feature)
		features = protowire.AppendTag(features, 1, protowire.BytesType)
		features = protowire.AppendBytes(features, entry)
	}
	pixels := []float32{0.25, 0.5, 0.75, 1, 0, 0.125}
	add("width", unpackedInts(2))
	add("image", unpackedFloats(pixels...))
	add("age", unpackedInts(37))
	add("gender", unpackedInts(1))
	add("race", unpackedInts(-1))
	add("filename", bytesList("37_1_x.jpg"))
	add("sha256", bytesList("cafe"))
	add("split", bytesList("valid"))
	add("height", unpackedInts(1))
	add("channels", unpackedInts(3))
	msg := protowire.AppendTag(nil, 1, protowire.BytesType)
	msg = protowire.AppendBytes(msg, features)

	want := &Record{Image: pixels, Age: 37, Gender: 1, Race: -1, Filename: "37_1_x.jpg", SHA256: "cafe", Split: "valid", Height: 1, Width: 2, Channels: 3}
	var r Record
	if err := Parse(msg, &r); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&r, want) {
		t.Errorf("Parse = %+v, want %+v", r, *want)
	}
	d, err := Decode(msg)
	if err != nil || !reflect.DeepEqual(d, want) {
		t.Errorf("Decode = %+v, %v; want %+v", d, err, *want)
	}

	// Two unpacked values where one is wanted is an error, not the last one.
	features = nil
	add("age", unpackedInts(37, 38))
	twice := protowire.AppendTag(nil, 1, protowire.BytesType)
	twice = protowire.AppendBytes(twice, features)
	if err := Parse(twice, &r); err == nil || !strings.Contains(err.Error(), `"age" has 2 values`) {
		t.Errorf("two unpacked ages: %v, want an error naming the feature and the count", err)
	}
}

// TestParseReusesAndChecks: Parse reuses the capacity of r.Image when it
// holds the image exactly, also for a float list split over two packed
// fields (legal: they concatenate); a bytes feature with no value is an
// error, not a panic.
func TestParseReusesAndChecks(t *testing.T) {
	img := []float32{0.5, 0.25, 1, 0, 0.75, 0.125}
	b := AppendEncode(nil, &Record{Image: img, Age: 3, Race: -1, Height: 1, Width: 2, Channels: 3, Filename: "f", SHA256: "s", Split: "x"})
	r := Record{Image: make([]float32, 0, len(img))}
	buf := &r.Image[:1][0]
	if err := Parse(b, &r); err != nil || !reflect.DeepEqual(r.Image, img) || &r.Image[0] != buf {
		t.Errorf("Parse = %v, %v; want %v in the buffer given (reused: %v)", r.Image, err, img, err == nil && &r.Image[0] == buf)
	}

	// The image as two packed chunks of 2 and 4 floats.
	var list []byte
	for _, chunk := range [][]float32{img[:2], img[2:]} {
		var packed []byte
		for _, v := range chunk {
			packed = protowire.AppendFixed32(packed, math.Float32bits(v))
		}
		list = protowire.AppendTag(list, 1, protowire.BytesType)
		list = protowire.AppendBytes(list, packed)
	}
	feature := protowire.AppendTag(nil, 2, protowire.BytesType)
	feature = protowire.AppendBytes(feature, list)
	chunked := withFeature(t, b, "image", feature)
	r = Record{Image: make([]float32, 0, len(img))}
	buf = &r.Image[:1][0]
	if err := Parse(chunked, &r); err != nil || !reflect.DeepEqual(r.Image, img) || &r.Image[0] != buf {
		t.Errorf("two packed chunks: Parse = %v, %v; want %v in the buffer given", r.Image, err, img)
	}
	// A buffer one float short holds the first chunk, not the second.
	r = Record{Image: make([]float32, 0, len(img)-1)}
	if err := Parse(chunked, &r); err != nil || !reflect.DeepEqual(r.Image, img) {
		t.Errorf("two packed chunks, a short buffer: Parse = %v, %v; want %v", r.Image, err, img)
	}

	empty := protowire.AppendTag(nil, 1, protowire.BytesType) // bytes_list with no value
	empty = protowire.AppendBytes(empty, nil)
	if err := Parse(withFeature(t, b, "filename", empty), &r); err == nil || !strings.Contains(err.Error(), `"filename" has 0 values`) {
		t.Errorf("filename without a value: %v, want an error naming it", err)
	}
}

// withFeature returns the Example b with feature key's Feature message
// replaced by feature (b's map entries are re-encoded in order).
func withFeature(t *testing.T, b []byte, key string, feature []byte) []byte {
	t.Helper()
	var features []byte
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v []byte) error {
		return eachField(v, func(num protowire.Number, typ protowire.Type, entry []byte) error {
			var k string
			var f []byte
			if err := eachField(entry, func(num protowire.Number, _ protowire.Type, v []byte) error {
				if num == 1 {
					k = string(v)
				} else {
					f = v
				}
				return nil
			}); err != nil {
				return err
			}
			if k == key {
				f = feature
			}
			e := protowire.AppendTag(nil, 1, protowire.BytesType)
			e = protowire.AppendString(e, k)
			e = protowire.AppendTag(e, 2, protowire.BytesType)
			e = protowire.AppendBytes(e, f)
			features = protowire.AppendTag(features, 1, protowire.BytesType)
			features = protowire.AppendBytes(features, e)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	out := protowire.AppendTag(nil, 1, protowire.BytesType)
	return protowire.AppendBytes(out, features)
}

// TestToProtoMemory: ToProto copies the bytes of the string features
// (writing to them must not change the record's strings, whose memory Go
// may keep read-only) and shares the image bytes, as its doc says.
func TestToProtoMemory(t *testing.T) {
	r := &Record{ImageRaw: []byte{1, 2, 3}, Height: 1, Width: 1, Channels: 3,
		Filename: strings.Repeat("f", 3), SHA256: strings.Repeat("s", 3), Split: strings.Repeat("t", 3)}
	ex := ToProto(r)
	for _, k := range []string{"filename", "sha256", "split"} {
		ex.Features.Feature[k].GetBytesList().Value[0][0] = 'X'
	}
	if r.Filename != "fff" || r.SHA256 != "sss" || r.Split != "ttt" {
		t.Errorf("writing to the message's strings changed the record: %q %q %q", r.Filename, r.SHA256, r.Split)
	}
	r.ImageRaw[0] = 9
	if got := ex.Features.Feature["image_raw"].GetBytesList().Value[0]; got[0] != 9 {
		t.Errorf("the message's image %v does not share the record's", got)
	}
}

// TestValidateDimensions: each dimension must be positive, even when the
// image is empty and 0 values would match.
func TestValidateDimensions(t *testing.T) {
	for _, r := range []Record{
		{ImageRaw: []byte{}, Height: 0, Width: 2, Channels: 3},
		{ImageRaw: []byte{}, Height: 2, Width: 0, Channels: 3},
		{ImageRaw: []byte{}, Height: 2, Width: 2, Channels: 0},
	} {
		if err := r.Validate(); !errors.Is(err, ErrImageSize) {
			t.Errorf("Validate(%dx%dx%d) = %v, want ErrImageSize", r.Height, r.Width, r.Channels, err)
		}
	}
}
