package tfexample

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
)

// unhex turns a spaced hex string into bytes.
func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// TestWireFormat checks the generated types against wire bytes assembled by
// hand from TensorFlow's public field numbers, in both directions.
func TestWireFormat(t *testing.T) {
	tests := []struct {
		name string
		msg  proto.Message
		wire string
	}{
		{
			name: "int64 list is packed, negative is ten bytes",
			msg:  &Int64List{Value: []int64{1, -1}},
			wire: "0a 0b 01 ff ff ff ff ff ff ff ff ff 01",
		},
		{
			name: "float list is packed little endian",
			msg:  &FloatList{Value: []float32{1, -2}},
			wire: "0a 08 0000803f 000000c0",
		},
		{
			name: "bytes list repeats field 1",
			msg:  &BytesList{Value: [][]byte{[]byte("ab"), {}}},
			wire: "0a 02 6162 0a 00",
		},
		{
			name: "feature bytes_list is field 1",
			msg:  &Feature{Kind: &Feature_BytesList{BytesList: &BytesList{Value: [][]byte{[]byte("x")}}}},
			wire: "0a 03 0a 01 78",
		},
		{
			name: "feature float_list is field 2",
			msg:  &Feature{Kind: &Feature_FloatList{FloatList: &FloatList{}}},
			wire: "12 00",
		},
		{
			name: "feature int64_list is field 3",
			msg:  &Feature{Kind: &Feature_Int64List{Int64List: &Int64List{Value: []int64{7}}}},
			wire: "1a 03 0a 01 07",
		},
		{
			name: "example with one map entry",
			msg: &Example{Features: &Features{Feature: map[string]*Feature{
				"a": {Kind: &Feature_BytesList{BytesList: &BytesList{Value: [][]byte{[]byte("x")}}}},
			}}},
			// Example.features(1) { Features.feature(1) { key(1) "a", value(2) Feature } }
			wire: "0a 0c 0a 0a 0a 01 61 12 05 0a 03 0a 01 78",
		},
		{
			name: "map entries are sorted by key when deterministic",
			msg: &Example{Features: &Features{Feature: map[string]*Feature{
				"b": {Kind: &Feature_Int64List{Int64List: &Int64List{Value: []int64{2}}}},
				"a": {Kind: &Feature_Int64List{Int64List: &Int64List{Value: []int64{1}}}},
			}}},
			wire: "0a 18 0a 0a 0a 01 61 12 05 1a 03 0a 01 01 0a 0a 0a 01 62 12 05 1a 03 0a 01 02",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := unhex(t, tt.wire)
			got, err := proto.MarshalOptions{Deterministic: true}.Marshal(tt.msg)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Marshal = % x, want % x", got, want)
			}
			back := tt.msg.ProtoReflect().New().Interface()
			if err := proto.Unmarshal(want, back); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if !proto.Equal(back, tt.msg) {
				t.Errorf("Unmarshal = %v, want %v", back, tt.msg)
			}
		})
	}
}

// TestFullNames checks that the messages carry TensorFlow's full names, so
// that tools that look types up by name (text format, Any) agree.
func TestFullNames(t *testing.T) {
	tests := []struct {
		msg  proto.Message
		want string
	}{
		{&Example{}, "tensorflow.Example"},
		{&Features{}, "tensorflow.Features"},
		{&Feature{}, "tensorflow.Feature"},
		{&BytesList{}, "tensorflow.BytesList"},
		{&FloatList{}, "tensorflow.FloatList"},
		{&Int64List{}, "tensorflow.Int64List"},
	}
	for _, tt := range tests {
		if got := string(tt.msg.ProtoReflect().Descriptor().FullName()); got != tt.want {
			t.Errorf("full name %q, want %q", got, tt.want)
		}
	}
}
