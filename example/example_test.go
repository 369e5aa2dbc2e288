package example

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/facepipe/facepipe/schemas"
	"github.com/facepipe/facepipe/schemas/tfexample"
)

var deterministic = proto.MarshalOptions{Deterministic: true}

func floats(n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 7))
	f := make([]float32, n)
	for i := range f {
		f[i] = r.Float32()
	}
	return f
}

func raw(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 9))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// base returns a valid record without an image.
func base() Record {
	return Record{
		Age: 26, Gender: 1, Race: 2,
		Filename: "26_1_2_20170116174525125.jpg.chip.jpg",
		SHA256:   "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		Split:    schemas.SplitTrain,
		Height:   4, Width: 5, Channels: 3,
	}
}

func with(f func(*Record)) *Record {
	r := base()
	f(&r)
	return &r
}

// encodeCases are records whose AppendEncode output must equal the
// deterministic marshaler's.
func encodeCases() []struct {
	name string
	rec  *Record
} {
	return []struct {
		name string
		rec  *Record
	}{
		{"float32", with(func(r *Record) { r.Image = floats(60, 1) })},
		{"uint8", with(func(r *Record) { r.ImageRaw = raw(60, 2) })},
		{"jpeg", with(func(r *Record) { r.ImageJPEG = raw(5000, 3) })},
		{"float32 224x224x3", with(func(r *Record) {
			r.Height, r.Width = 224, 224
			r.Image = floats(224*224*3, 4)
		})},
		{"uint8 224x224x3", with(func(r *Record) {
			r.Height, r.Width = 224, 224
			r.ImageRaw = raw(224*224*3, 5)
		})},
		{"race -1 and empty strings, float32", with(func(r *Record) {
			r.Race, r.Filename, r.SHA256, r.Split = -1, "", "", ""
			r.Image = floats(60, 6)
		})},
		{"race -1 and empty strings, uint8", with(func(r *Record) {
			r.Race, r.Filename, r.SHA256, r.Split = -1, "", "", ""
			r.ImageRaw = raw(60, 7)
		})},
		{"race -1 and empty strings, jpeg", with(func(r *Record) {
			r.Race, r.Filename, r.SHA256, r.Split = -1, "", "", ""
			r.ImageJPEG = raw(10, 8)
		})},
		{"zeros", &Record{ImageRaw: []byte{}}},
		{"extreme ints", with(func(r *Record) {
			r.Age, r.Gender, r.Race = math.MaxInt64, math.MinInt64, -128
			r.Height, r.Width, r.Channels = 127, 128, 16384
			r.ImageJPEG = raw(127, 9)
		})},
		{"special floats", with(func(r *Record) {
			r.Height, r.Width, r.Channels = 1, 2, 3
			r.Image = []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)),
				float32(math.Copysign(0, -1)), math.SmallestNonzeroFloat32, math.MaxFloat32}
		})},
		{"odd float count", with(func(r *Record) {
			r.Height, r.Width, r.Channels = 1, 1, 7
			r.Image = floats(7, 10)
		})},
		{"empty float image", with(func(r *Record) { r.Image = []float32{} })},
		{"empty jpeg", with(func(r *Record) { r.ImageJPEG = []byte{} })},
		{"long strings", with(func(r *Record) {
			r.Filename = strings.Repeat("f", 300)
			r.SHA256 = strings.Repeat("a", 128)
			r.Split = "ünïcödé"
			r.ImageJPEG = raw(1<<14, 11)
		})},
		{"no image", with(func(*Record) {})},
		{"every image field", with(func(r *Record) {
			r.Image, r.ImageRaw, r.ImageJPEG = floats(3, 12), raw(3, 13), raw(3, 14)
		})},
	}
}

func TestAppendEncodeMatchesProto(t *testing.T) {
	for _, tt := range encodeCases() {
		t.Run(tt.name, func(t *testing.T) {
			want, err := deterministic.Marshal(ToProto(tt.rec))
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			got := AppendEncode(nil, tt.rec)
			if !bytes.Equal(got, want) {
				i := 0
				for i < len(got) && i < len(want) && got[i] == want[i] {
					i++
				}
				t.Fatalf("AppendEncode differs from the marshaler at byte %d (len %d, want %d)", i, len(got), len(want))
			}
			if n := Size(tt.rec); n != len(want) {
				t.Errorf("Size = %d, want %d", n, len(want))
			}
			prefix := []byte("prefix")
			if got := AppendEncode(prefix, tt.rec); !bytes.Equal(got[:len(prefix)], prefix) || !bytes.Equal(got[len(prefix):], want) {
				t.Error("AppendEncode to a non-empty dst did not append")
			}
			if raceEnabled {
				return
			}
			if allocs := testing.AllocsPerRun(50, func() { AppendEncode(nil, tt.rec) }); allocs != 1 {
				t.Errorf("AppendEncode(nil) made %v allocations, want 1", allocs)
			}
			buf := make([]byte, 0, len(want))
			if allocs := testing.AllocsPerRun(50, func() { AppendEncode(buf[:0], tt.rec) }); allocs != 0 {
				t.Errorf("AppendEncode into a large enough dst made %v allocations, want 0", allocs)
			}
		})
	}
}

// TestAppendEncodeRandom compares with the marshaler on random records.
func TestAppendEncodeRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	str := func() string { return strings.Repeat("x", rng.IntN(300)) }
	for i := range 300 {
		r := &Record{
			Age: rng.Int64() >> rng.IntN(64), Gender: -rng.Int64N(1 << 40), Race: rng.Int64N(6) - 1,
			Filename: str(), SHA256: str(), Split: str(),
			Height: rng.Int64N(300), Width: rng.Int64N(300), Channels: rng.Int64N(5),
		}
		switch i % 3 {
		case 0:
			r.Image = floats(rng.IntN(5000), uint64(i))
		case 1:
			r.ImageRaw = raw(rng.IntN(5000), uint64(i))
		case 2:
			r.ImageJPEG = raw(rng.IntN(20000), uint64(i))
		}
		want, err := deterministic.Marshal(ToProto(r))
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendEncode(nil, r); !bytes.Equal(got, want) {
			t.Fatalf("record %d (%+v): AppendEncode differs from the marshaler", i, *r)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		rec  *Record
	}{
		{"float32", with(func(r *Record) { r.Image = floats(60, 1) })},
		{"uint8", with(func(r *Record) { r.ImageRaw = raw(60, 2) })},
		{"jpeg", with(func(r *Record) { r.ImageJPEG = raw(5000, 3) })},
		{"empty jpeg", with(func(r *Record) { r.ImageJPEG = []byte{} })},
		{"race -1, empty strings", with(func(r *Record) {
			r.Race, r.Filename, r.SHA256, r.Split = -1, "", "", ""
			r.ImageRaw = raw(60, 4)
		})},
		{"224x224x3", with(func(r *Record) {
			r.Height, r.Width = 224, 224
			r.Image = floats(224*224*3, 5)
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := AppendEncode(nil, tt.rec)
			got, err := Decode(b)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, tt.rec) {
				t.Errorf("Decode = %+v\nwant %+v", got, tt.rec)
			}
			// The decoded record must not alias the input.
			for i := range b {
				b[i] = 0xff
			}
			if !reflect.DeepEqual(got, tt.rec) {
				t.Error("decoded record changed with its input bytes")
			}
		})
	}
}

// mutated returns the serialized ToProto of a valid float record after f
// changed its features.
func mutated(t *testing.T, f func(m map[string]*tfexample.Feature)) []byte {
	t.Helper()
	ex := ToProto(with(func(r *Record) { r.Image = floats(60, 1) }))
	f(ex.Features.Feature)
	b, err := deterministic.Marshal(ex)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func int64s(v ...int64) *tfexample.Feature {
	return &tfexample.Feature{Kind: &tfexample.Feature_Int64List{Int64List: &tfexample.Int64List{Value: v}}}
}

func byteses(v ...[]byte) *tfexample.Feature {
	return &tfexample.Feature{Kind: &tfexample.Feature_BytesList{BytesList: &tfexample.BytesList{Value: v}}}
}

func float32s(v ...float32) *tfexample.Feature {
	return &tfexample.Feature{Kind: &tfexample.Feature_FloatList{FloatList: &tfexample.FloatList{Value: v}}}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name  string
		input []byte
		want  string
	}{
		{"not protobuf", []byte{0xff, 0xff, 0xff}, "example: "},
		{"empty example", nil, `missing feature "age"`},
		{"missing age", mutated(t, func(m map[string]*tfexample.Feature) { delete(m, schemas.FeatureAge) }), `missing feature "age"`},
		{"missing split", mutated(t, func(m map[string]*tfexample.Feature) { delete(m, schemas.FeatureSplit) }), `missing feature "split"`},
		{"age as floats", mutated(t, func(m map[string]*tfexample.Feature) { m[schemas.FeatureAge] = float32s(26) }),
			`feature "age" is float_list, want int64_list`},
		{"filename as ints", mutated(t, func(m map[string]*tfexample.Feature) { m[schemas.FeatureFilename] = int64s(1) }),
			`feature "filename" is int64_list, want bytes_list`},
		{"image as bytes", mutated(t, func(m map[string]*tfexample.Feature) { m[schemas.FeatureImage] = byteses([]byte("x")) }),
			`feature "image" is bytes_list, want float_list`},
		{"race without kind", mutated(t, func(m map[string]*tfexample.Feature) { m[schemas.FeatureRace] = &tfexample.Feature{} }),
			`feature "race" is empty, want int64_list`},
		{"two ages", mutated(t, func(m map[string]*tfexample.Feature) { m[schemas.FeatureAge] = int64s(1, 2) }),
			`feature "age" has 2 values, want 1`},
		{"no height value", mutated(t, func(m map[string]*tfexample.Feature) { m[schemas.FeatureHeight] = int64s() }),
			`feature "height" has 0 values, want 1`},
		{"two sha256", mutated(t, func(m map[string]*tfexample.Feature) { m[schemas.FeatureSHA256] = byteses(nil, nil) }),
			`feature "sha256" has 2 values, want 1`},
		{"no image", mutated(t, func(m map[string]*tfexample.Feature) { delete(m, schemas.FeatureImage) }),
			"no image feature, want one of image, image_raw, image_jpeg"},
		{"two images", mutated(t, func(m map[string]*tfexample.Feature) { m[schemas.FeatureImageJPEG] = byteses([]byte("j")) }),
			"2 image features (image, image_jpeg), want exactly one"},
		{"image size", mutated(t, func(m map[string]*tfexample.Feature) { m[schemas.FeatureWidth] = int64s(6) }),
			"image: image length does not match height*width*channels: 60 values for 4x6x3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Decode(tt.input)
			if err == nil {
				t.Fatalf("Decode succeeded: %+v", r)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name     string
		rec      *Record
		wantErr  string
		wantSize bool // errors.Is(err, ErrImageSize)
	}{
		{"float ok", with(func(r *Record) { r.Image = floats(60, 1) }), "", false},
		{"raw ok", with(func(r *Record) { r.ImageRaw = raw(60, 1) }), "", false},
		{"jpeg ignores dimensions", with(func(r *Record) { r.ImageJPEG = raw(3, 1); r.Height = 0 }), "", false},
		{"float short", with(func(r *Record) { r.Image = floats(59, 1) }), "59 values for 4x5x3", true},
		{"raw long", with(func(r *Record) { r.ImageRaw = raw(61, 1) }), "61 values for 4x5x3", true},
		{"zero height", with(func(r *Record) { r.ImageRaw = []byte{}; r.Height = 0 }), "want positive dimensions", true},
		{"negative channels", with(func(r *Record) { r.Image = floats(60, 1); r.Channels = -3 }), "want positive dimensions", true},
		{"overflowing product", with(func(r *Record) {
			r.ImageRaw = raw(8, 1)
			r.Height, r.Width, r.Channels = 1<<62, 1<<62, 8
		}), "8 values for", true},
		{"no image", with(func(*Record) {}), "no image feature", false},
		{"two images", with(func(r *Record) { r.Image, r.ImageRaw = floats(60, 1), raw(60, 1) }), "2 image features (image, image_raw)", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.rec.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate = %v, want an error containing %q", err, tt.wantErr)
			}
			if errors.Is(err, ErrImageSize) != tt.wantSize {
				t.Errorf("errors.Is(err, ErrImageSize) = %v, want %v", !tt.wantSize, tt.wantSize)
			}
		})
	}
}

// benchRecord is a 224x224x3 float32 record, the hot path of ingest.
func benchRecord() *Record {
	return with(func(r *Record) {
		r.Height, r.Width = 224, 224
		r.Image = floats(224*224*3, 1)
	})
}

// BenchmarkAppendEncode encodes a 224x224x3 float32 image into a reused
// buffer. Compare with BenchmarkProtoMarshal.
func BenchmarkAppendEncode(b *testing.B) {
	r := benchRecord()
	buf := AppendEncode(nil, r)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendEncode(buf[:0], r)
	}
}

// BenchmarkAppendEncodeNew is BenchmarkAppendEncode with a fresh buffer each
// time, as proto.Marshal has.
func BenchmarkAppendEncodeNew(b *testing.B) {
	r := benchRecord()
	b.SetBytes(int64(Size(r)))
	b.ReportAllocs()
	for b.Loop() {
		AppendEncode(nil, r)
	}
}

// BenchmarkProtoMarshal is the generated-types path as a writer would use
// it: build the message and marshal it deterministically, for the same
// record as BenchmarkAppendEncode.
func BenchmarkProtoMarshal(b *testing.B) {
	r := benchRecord()
	b.SetBytes(int64(Size(r)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := deterministic.Marshal(ToProto(r)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProtoMarshalAppend is the generated types' best case: the message
// built once and marshaled into a reused buffer.
func BenchmarkProtoMarshalAppend(b *testing.B) {
	m := ToProto(benchRecord())
	buf, err := deterministic.Marshal(m)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf, err = deterministic.MarshalAppend(buf[:0], m)
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecode decodes the same record through the generated types.
func BenchmarkDecode(b *testing.B) {
	buf := AppendEncode(nil, benchRecord())
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(buf); err != nil {
			b.Fatal(err)
		}
	}
}
