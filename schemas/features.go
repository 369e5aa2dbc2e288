// Package schemas holds the data contracts shared by the pipelines: the
// tf.train.Example feature spec written by ingest, the Parquet row types and
// the run manifest.
package schemas

// Feature names of the tf.train.Example records that ingest writes.
const (
	FeatureImage     = "image"      // float_list, H*W*3 values in [0,1], HWC, RGB (encoding float32)
	FeatureImageRaw  = "image_raw"  // bytes, H*W*3 uint8, HWC, RGB (encoding uint8)
	FeatureImageJPEG = "image_jpeg" // bytes, the original file's bytes (encoding jpeg)
	FeatureAge       = "age"        // int64, years
	FeatureGender    = "gender"     // int64, 0 male, 1 female
	FeatureRace      = "race"       // int64, 0-4, or -1 when the file name has none
	FeatureFilename  = "filename"   // bytes, the base name of the source file
	FeatureSHA256    = "sha256"     // bytes, hex digest of the source file's content
	FeatureSplit     = "split"      // bytes, train, valid or test
	FeatureHeight    = "height"     // int64, rows of the stored image
	FeatureWidth     = "width"      // int64, columns of the stored image
	FeatureChannels  = "channels"   // int64, always 3
)

// Image encodings selectable with --encoding.
const (
	EncodingFloat32 = "float32"
	EncodingUint8   = "uint8"
	EncodingJPEG    = "jpeg"
)

// Split names.
const (
	SplitTrain = "train"
	SplitValid = "valid"
	SplitTest  = "test"
)
