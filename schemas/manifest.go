package schemas

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"
)

// ManifestFile is the name of the manifest under an ingest output folder.
// Ingest writes it last: its presence means the run finished.
const ManifestFile = "manifest.json"

// Version is the tool version written into manifests and Parquet files.
const Version = "0.1.0"

// ManifestVersion is the version of the manifest format.
const ManifestVersion = 1

// Manifest describes one ingest run's output.
type Manifest struct {
	FormatVersion int             `json:"format_version"`
	Tool          string          `json:"tool"`
	ToolVersion   string          `json:"tool_version"`
	Parameters    IngestParams    `json:"parameters"`
	FeatureSpec   []FeatureSpec   `json:"feature_spec"`
	Counts        Counts          `json:"counts"`
	Splits        []SplitManifest `json:"splits"`
	Rejects       FileEntry       `json:"rejects"`
	Stats         []FileEntry     `json:"stats"` // the statistics tables and the report
}

// IngestParams are the parameters of an ingest run that shape its output.
type IngestParams struct {
	Input          string `json:"input"`
	Output         string `json:"output"`
	ImageSize      int    `json:"image_size"`
	Encoding       string `json:"encoding"`
	Compression    string `json:"compression"`
	Split          string `json:"split"`
	Seed           int64  `json:"seed"`
	NumShards      int    `json:"num_shards"`
	ShardMB        int    `json:"shard_mb"`
	KeepDuplicates bool   `json:"keep_duplicates"`
	Limit          int    `json:"limit"`
	MaxPixels      int    `json:"max_pixels"`
	// Faces is "whole" (or "", as before the flag: each image is the face,
	// as UTKFace crops are) or "detect": each image's best face is found and
	// aligned onto the UTKFace template as scoring aligns faces in photos.
	Faces string `json:"faces,omitempty"`
	// FaceFallback is, with Faces "detect", the score at which an image's
	// candidates get a second chance when none scoring the detector's
	// threshold was confirmed (faces.Detector.FallbackThreshold); 0 (or
	// absent, as before the flag): none.
	FaceFallback float64 `json:"face_fallback,omitempty"`
}

// FeatureSpec describes one feature of the Examples.
type FeatureSpec struct {
	Name        string `json:"name"`
	Type        string `json:"type"`            // float_list, int64_list or bytes_list
	Shape       []int  `json:"shape,omitempty"` // fixed shape, when there is one
	Description string `json:"description"`
}

// Counts reconcile the run: Inputs = Written + Rejected.
type Counts struct {
	Inputs          int           `json:"inputs"`
	Written         int           `json:"written"`
	Rejected        int           `json:"rejected"`
	RejectsByReason []ReasonCount `json:"rejects_by_reason"`
	DuplicateGroups int           `json:"duplicate_groups"`
	DuplicateFiles  int           `json:"duplicate_files"`
}

// ReasonCount is the number of rejects with one reason.
type ReasonCount struct {
	Reason string `json:"reason"`
	Count  int    `json:"count"`
}

// SplitManifest lists one split's shards.
type SplitManifest struct {
	Name    string      `json:"name"`
	Records int         `json:"records"`
	Bytes   int64       `json:"bytes"`
	Shards  []FileEntry `json:"shards"`
}

// FileEntry is one output file, its path relative to the output folder.
type FileEntry struct {
	File    string `json:"file"`
	Records int    `json:"records"`
	Bytes   int64  `json:"bytes"`
	SHA256  string `json:"sha256"`
}

// ParseManifest decodes and checks a manifest.
func ParseManifest(data []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if m.FormatVersion != ManifestVersion {
		return nil, fmt.Errorf("manifest: format version %d, want %d", m.FormatVersion, ManifestVersion)
	}
	if c := m.Counts; c.Inputs < 0 || c.Written < 0 || c.Rejected < 0 || c.Inputs != c.Written+c.Rejected {
		return nil, fmt.Errorf("manifest: counts: %d inputs but %d written + %d rejected", c.Inputs, c.Written, c.Rejected)
	}
	if s := m.Parameters.ImageSize; s < 1 || s > MaxImageSize {
		return nil, fmt.Errorf("manifest: parameters.image_size %d: want 1-%d", s, MaxImageSize)
	}
	written := 0
	for i, sp := range m.Splits {
		if sp.Name == "" || strings.ContainsAny(sp.Name, "+/\\") {
			return nil, fmt.Errorf("manifest: splits[%d].name %q: want a plain name", i, sp.Name)
		}
		n := 0
		for j, sh := range sp.Shards {
			if err := sh.check(); err != nil {
				return nil, fmt.Errorf("manifest: splits[%d].shards[%d]: %w", i, j, err)
			}
			n += sh.Records
		}
		if sp.Records != n {
			return nil, fmt.Errorf("manifest: splits[%d] (%s): %d records but its shards hold %d", i, sp.Name, sp.Records, n)
		}
		written += n
	}
	if written != m.Counts.Written {
		return nil, fmt.Errorf("manifest: counts.written %d but the splits hold %d records", m.Counts.Written, written)
	}
	if m.Rejects.File != "" {
		if err := m.Rejects.check(); err != nil {
			return nil, fmt.Errorf("manifest: rejects: %w", err)
		}
	}
	for i, e := range m.Stats {
		if err := e.check(); err != nil {
			return nil, fmt.Errorf("manifest: stats[%d]: %w", i, err)
		}
	}
	return &m, nil
}

// MaxImageSize is the largest stored image side a manifest may declare,
// ingest's own bound on --image_size.
const MaxImageSize = 4096

// check checks an output file's entry: a path relative to the output folder
// that stays inside it, and counts that are not negative.
func (e FileEntry) check() error {
	f := e.File
	if f == "" || path.IsAbs(f) || strings.Contains(f, "\\") || path.Clean(f) != f || f == ".." || strings.HasPrefix(f, "../") {
		return fmt.Errorf("file %q: want a path inside the output folder", f)
	}
	if e.Records < 0 || e.Bytes < 0 {
		return fmt.Errorf("file %s: %d records, %d bytes", f, e.Records, e.Bytes)
	}
	return nil
}

// Split returns the named split, or nil.
func (m *Manifest) Split(name string) *SplitManifest {
	for i := range m.Splits {
		if m.Splits[i].Name == name {
			return &m.Splits[i]
		}
	}
	return nil
}

// Features returns the feature spec of an ingest run's Examples.
func Features(encoding string, size int) []FeatureSpec {
	var img FeatureSpec
	switch encoding {
	case EncodingUint8:
		img = FeatureSpec{FeatureImageRaw, "bytes_list", []int{size, size, 3}, "one string of H*W*3 uint8 RGB samples, HWC"}
	case EncodingJPEG:
		img = FeatureSpec{FeatureImageJPEG, "bytes_list", nil, "the original file's bytes (JPEG or PNG), not resized"}
	default:
		img = FeatureSpec{FeatureImage, "float_list", []int{size, size, 3}, "RGB in [0,1] (pixel/255), HWC, resized bilinearly with half-pixel centres"}
	}
	return []FeatureSpec{
		img,
		{FeatureAge, "int64_list", []int{1}, "age in years, 1-120"},
		{FeatureGender, "int64_list", []int{1}, "0 male, 1 female"},
		{FeatureRace, "int64_list", []int{1}, "0 white, 1 black, 2 asian, 3 indian, 4 others, -1 unknown"},
		{FeatureFilename, "bytes_list", []int{1}, "base name of the source file"},
		{FeatureSHA256, "bytes_list", []int{1}, "hex sha256 of the source file's content"},
		{FeatureSplit, "bytes_list", []int{1}, "the split this record belongs to"},
		{FeatureHeight, "int64_list", []int{1}, "rows of the image feature (source rows for jpeg)"},
		{FeatureWidth, "int64_list", []int{1}, "columns of the image feature (source columns for jpeg)"},
		{FeatureChannels, "int64_list", []int{1}, "3"},
	}
}
