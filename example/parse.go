package example

import (
	"encoding/binary"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// Parse decodes a serialized tf.train.Example into r without reflection,
// for readers on the training hot path. It reuses r's Image capacity; the
// byte images (ImageRaw, ImageJPEG) alias b, so they are valid only as long
// as b is. It accepts packed and unpacked numeric lists, ignores unknown
// features, and checks the result as Decode does.
func Parse(b []byte, r *Record) error {
	img := r.Image[:0]
	*r = Record{}
	seen := [numFeatures]bool{}
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v []byte) error {
		if num != 1 || typ != protowire.BytesType { // Example.features
			return nil
		}
		return eachField(v, func(num protowire.Number, typ protowire.Type, entry []byte) error {
			if num != 1 || typ != protowire.BytesType { // Features.feature (map entry)
				return nil
			}
			var key string
			var feature []byte
			if err := eachField(entry, func(num protowire.Number, typ protowire.Type, v []byte) error {
				switch {
				case num == 1 && typ == protowire.BytesType:
					key = string(v)
				case num == 2 && typ == protowire.BytesType:
					feature = v
				}
				return nil
			}); err != nil {
				return err
			}
			i := featureIndex(key)
			if i < 0 {
				return nil
			}
			if seen[i] {
				return fmt.Errorf("example: feature %q appears twice", key)
			}
			seen[i] = true
			return parseFeature(r, i, feature, &img)
		})
	})
	if err != nil {
		return err
	}
	var images []string
	for i := range numFeatures {
		switch i {
		case fImage, fImageRaw, fImageJPEG:
			if seen[i] {
				images = append(images, keys[i])
			}
		default:
			if !seen[i] {
				return fmt.Errorf("example: missing feature %q", keys[i])
			}
		}
	}
	if len(images) != 1 {
		return imageCountError(images)
	}
	return r.Validate()
}

func featureIndex(key string) int {
	for i, k := range keys {
		if k == key {
			return i
		}
	}
	return -1
}

// parseFeature reads one Feature message into field i of r.
func parseFeature(r *Record, i int, feature []byte, img *[]float32) error {
	kind := uint8(0)
	var list []byte
	err := eachField(feature, func(num protowire.Number, typ protowire.Type, v []byte) error {
		if typ == protowire.BytesType && num >= 1 && num <= 3 {
			kind, list = uint8(num), v
		}
		return nil
	})
	if err != nil {
		return err
	}
	if kind != kinds[i] {
		return fmt.Errorf("example: feature %q is %s, want %s", keys[i], kindName(kind), kindName(kinds[i]))
	}
	switch kind {
	case kindFloat:
		floats := (*img)[:0]
		err = eachField(list, func(num protowire.Number, typ protowire.Type, v []byte) error {
			if num != 1 {
				return nil
			}
			switch typ {
			case protowire.BytesType: // packed
				if len(v)%4 != 0 {
					return fmt.Errorf("example: feature %q: packed floats of %d bytes", keys[i], len(v))
				}
				floats = growFloats(floats, len(v)/4)
				out := floats[len(floats)-len(v)/4:]
				for j := range out {
					out[j] = math.Float32frombits(binary.LittleEndian.Uint32(v[4*j:]))
				}
			case protowire.Fixed32Type:
				floats = append(floats, math.Float32frombits(binary.LittleEndian.Uint32(v)))
			}
			return nil
		})
		if floats == nil {
			floats = []float32{}
		}
		*img = floats
		r.Image = floats
	case kindBytes:
		var values [][]byte
		err = eachField(list, func(num protowire.Number, typ protowire.Type, v []byte) error {
			if num == 1 && typ == protowire.BytesType {
				values = append(values, v)
			}
			return nil
		})
		if err == nil && len(values) != 1 {
			return fmt.Errorf("example: feature %q has %d values, want 1", keys[i], len(values))
		}
		if err != nil {
			return err
		}
		setBytes(r, i, values[0])
	case kindInt64:
		var values []int64
		err = eachField(list, func(num protowire.Number, typ protowire.Type, v []byte) error {
			if num != 1 {
				return nil
			}
			switch typ {
			case protowire.BytesType: // packed varints
				for len(v) > 0 {
					x, n := protowire.ConsumeVarint(v)
					if err := protowire.ParseError(n); err != nil { // nil for n ≥ 0
						return fmt.Errorf("example: feature %q: %w", keys[i], err)
					}
					values = append(values, int64(x))
					v = v[n:]
				}
			case protowire.VarintType:
				x, _ := protowire.ConsumeVarint(v)
				values = append(values, int64(x))
			}
			return nil
		})
		if err == nil && len(values) != 1 {
			return fmt.Errorf("example: feature %q has %d values, want 1", keys[i], len(values))
		}
		if err != nil {
			return err
		}
		*intField(r, i) = values[0]
	}
	return err
}

func growFloats(s []float32, n int) []float32 {
	if cap(s)-len(s) >= n {
		return s[:len(s)+n]
	}
	t := make([]float32, len(s)+n)
	copy(t, s)
	return t
}

// eachField calls fn for every field of a protobuf message. For varint
// fields v holds the varint's bytes, for fixed32 its 4 bytes, for
// length-delimited fields their content.
func eachField(b []byte, fn func(num protowire.Number, typ protowire.Type, v []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if err := protowire.ParseError(n); err != nil { // nil for n ≥ 0
			return fmt.Errorf("example: %w", err)
		}
		b = b[n:]
		var v []byte
		switch typ {
		case protowire.BytesType:
			val, m := protowire.ConsumeBytes(b)
			if err := protowire.ParseError(m); err != nil {
				return fmt.Errorf("example: %w", err)
			}
			v, n = val, m
		default:
			m := protowire.ConsumeFieldValue(num, typ, b)
			if err := protowire.ParseError(m); err != nil {
				return fmt.Errorf("example: %w", err)
			}
			v, n = b[:m], m
		}
		if err := fn(num, typ, v); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}
