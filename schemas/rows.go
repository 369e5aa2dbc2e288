package schemas

// Reject is one row of rejects.parquet: an input that was not written, and
// why. Byte-identical duplicates that were dropped are rejects too, so every
// input is either in a shard or here.
type Reject struct {
	File   string `parquet:"file" json:"file"`     // base name
	Path   string `parquet:"path" json:"path"`     // the path as listed
	Reason string `parquet:"reason" json:"reason"` // a Reason* code
	Detail string `parquet:"detail" json:"detail"` // human-readable explanation
	SHA256 string `parquet:"sha256" json:"sha256"` // content digest, "" when the file couldn't be read
}

// Prediction is one row of a scoring run's predictions/*.parquet: one face
// of one image (with --faces=whole, the whole image as its one face).
// Columns of a task without a model, and the true labels of names without
// them, are null.
type Prediction struct {
	Filename string `parquet:"filename"`
	Path     string `parquet:"path"`
	// Face numbers the faces of one image, 0, 1, …, highest detection score
	// first.
	Face int32 `parquet:"face"`
	// The face's box in the source image's pixels (upright, after its EXIF
	// orientation): top-left corner and size. With --faces=whole, the whole
	// image.
	BoxX      float32 `parquet:"box_x"`
	BoxY      float32 `parquet:"box_y"`
	BoxWidth  float32 `parquet:"box_width"`
	BoxHeight float32 `parquet:"box_height"`
	// FaceScore is the detector's confidence; null with --faces=whole.
	FaceScore *float32 `parquet:"face_score"`
	// Keypoints holds x, y of the detector's 6 keypoints in source pixels:
	// the eye on the image's left, the other eye, the nose tip, the mouth,
	// the ear regions (left, right); empty with --faces=whole.
	Keypoints []float32 `parquet:"keypoints,list"`
	// Aligned says how the face was cropped for the model: "detected" (a
	// similarity transform from the keypoints onto the UTKFace template),
	// "as_is" (the image already was an aligned crop) or "whole"
	// (--faces=whole).
	Aligned         string   `parquet:"aligned"`
	PredictedAge    *float64 `parquet:"predicted_age"`    // years
	PredictedGender *int32   `parquet:"predicted_gender"` // 0 male, 1 female
	PFemale         *float64 `parquet:"p_female"`
	Model           string   `parquet:"model"` // the models' identifiers, age then gender
	SHA256          string   `parquet:"sha256"`
	TrueAge         *int32   `parquet:"true_age"`
	TrueGender      *int32   `parquet:"true_gender"`
	TrueRace        *int32   `parquet:"true_race"`
}
