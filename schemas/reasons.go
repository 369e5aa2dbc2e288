package schemas

// Reject reasons: short, stable codes written to rejects.parquet. Checks run in
// this order, and an input gets the reason of the first check it fails.
const (
	// The file name does not carry a readable age and gender.
	ReasonNameUnparseable = "name_unparseable"
	// The age is outside 1-120.
	ReasonAgeOutOfRange = "age_out_of_range"
	// The gender field is not 0 or 1.
	ReasonGenderInvalid = "gender_invalid"
	// The race field is outside 0-4.
	ReasonRaceInvalid = "race_invalid"
	// The file could not be read.
	ReasonReadError = "read_error"
	// The file is zero bytes long.
	ReasonEmptyFile = "empty_file"
	// The content is not an image the decoder reads (JPEG, PNG, WebP, GIF);
	// the detail names the format when it is a known other one (HEIC, AVIF).
	ReasonNotAnImage = "not_an_image"
	// The header declares more pixels than the limit.
	ReasonTooLarge = "too_large"
	// Byte-identical to a kept file whose labels agree.
	ReasonDuplicate = "duplicate"
	// Byte-identical files whose labels disagree: the whole group is dropped.
	ReasonDuplicateConflict = "duplicate_conflict"
	// The image data ends before the image does.
	ReasonTruncated = "truncated"
	// The image data is corrupt in another way.
	ReasonDecodeError = "decode_error"
	// Scoring or ingest with face detection found no face in the image.
	ReasonNoFace = "no_face"
)

// Reasons lists every reject reason, in the order the checks run.
var Reasons = []string{
	ReasonNameUnparseable, ReasonAgeOutOfRange, ReasonGenderInvalid, ReasonRaceInvalid,
	ReasonReadError, ReasonEmptyFile, ReasonNotAnImage, ReasonTooLarge,
	ReasonDuplicate, ReasonDuplicateConflict, ReasonTruncated, ReasonDecodeError, ReasonNoFace,
}
