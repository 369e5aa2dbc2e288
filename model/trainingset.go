package model

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/facepipe/facepipe/internal/fsio"
)

// TrainingSetFile is the file of a model folder that tells which images the
// model was trained on, so that scoring can warn when it scores them (its
// metrics on them would flatter it): the first 8 bytes of the SHA-256 of
// each training image's file, sorted. 17,000 images take 136 KB; two
// different images share a prefix with a probability of about 1 in 10^11.
const TrainingSetFile = "training_set.bin"

// trainingSetMagic starts the file, followed by the splits the model was
// trained on and a newline, then the prefixes, 8 bytes each, big-endian.
const trainingSetMagic = "facepipe training set v1 "

// TrainingSet is the content hashes of the images a model was trained on.
type TrainingSet struct {
	Splits   string // "train", or "train+valid" for a refit
	prefixes []uint64
}

// NewTrainingSet makes the training set of the images with these hex
// SHA-256 digests; digests that don't parse are skipped.
func NewTrainingSet(splits string, digests []string) *TrainingSet {
	s := &TrainingSet{Splits: splits}
	for _, d := range digests {
		if p, ok := prefix(d); ok {
			s.prefixes = append(s.prefixes, p)
		}
	}
	slices.Sort(s.prefixes)
	s.prefixes = slices.Compact(s.prefixes)
	return s
}

// prefix is the first 8 bytes of a hex SHA-256 digest.
func prefix(digest string) (uint64, bool) {
	if len(digest) < 16 {
		return 0, false
	}
	b, err := hex.DecodeString(digest[:16])
	if err != nil {
		return 0, false
	}
	return binary.BigEndian.Uint64(b), true
}

// Len is the number of images.
func (s *TrainingSet) Len() int { return len(s.prefixes) }

// Contains reports whether the image with this hex SHA-256 digest is in the
// set.
func (s *TrainingSet) Contains(digest string) bool {
	p, ok := prefix(digest)
	if !ok {
		return false
	}
	_, found := slices.BinarySearch(s.prefixes, p)
	return found
}

// Union is the set of the images of s or o, with both their splits named
// when they differ.
func (s *TrainingSet) Union(o *TrainingSet) *TrainingSet {
	u := &TrainingSet{Splits: s.Splits, prefixes: append(slices.Clone(s.prefixes), o.prefixes...)}
	if o.Splits != s.Splits {
		u.Splits = s.Splits + "," + o.Splits
	}
	slices.Sort(u.prefixes)
	u.prefixes = slices.Compact(u.prefixes)
	return u
}

// Marshal is the file's content.
func (s *TrainingSet) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString(trainingSetMagic + s.Splits + "\n")
	for _, p := range s.prefixes {
		binary.Write(&b, binary.BigEndian, p)
	}
	return b.Bytes()
}

// ParseTrainingSet reads what Marshal wrote.
func ParseTrainingSet(data []byte) (*TrainingSet, error) {
	r := bufio.NewReader(bytes.NewReader(data))
	head, err := r.ReadString('\n')
	splits, ok := strings.CutPrefix(strings.TrimSuffix(head, "\n"), trainingSetMagic)
	if err != nil || !ok {
		return nil, errors.New("not a training set file")
	}
	body := data[len(head):]
	if len(body)%8 != 0 {
		return nil, fmt.Errorf("training set file: %d bytes after the header, not a multiple of 8", len(body))
	}
	s := &TrainingSet{Splits: splits, prefixes: make([]uint64, len(body)/8)}
	for i := range s.prefixes {
		s.prefixes[i] = binary.BigEndian.Uint64(body[8*i:])
		if i > 0 && s.prefixes[i] <= s.prefixes[i-1] {
			return nil, errors.New("training set file: not sorted")
		}
	}
	return s, nil
}

// ReadTrainingSet reads the training set of a model folder, local or gs://:
// nil, without an error, when it has none (a folder written before train
// recorded it, or an ONNX file's).
func ReadTrainingSet(ctx context.Context, dir string) (*TrainingSet, error) {
	p := fsio.Join(dir, TrainingSetFile)
	data, err := fsio.ReadFile(ctx, p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || !fsio.Exists(ctx, p) {
			return nil, nil
		}
		return nil, err
	}
	s, err := ParseTrainingSet(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return s, nil
}
