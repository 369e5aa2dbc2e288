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

// Prediction is one row of a scoring run's predictions/*.parquet. Columns of
// a task without a model, and the true labels of names without them, are
// null.
type Prediction struct {
	Filename        string   `parquet:"filename"`
	Path            string   `parquet:"path"`
	PredictedAge    *float64 `parquet:"predicted_age"`    // years
	PredictedGender *int32   `parquet:"predicted_gender"` // 0 male, 1 female
	PFemale         *float64 `parquet:"p_female"`
	Model           string   `parquet:"model"` // the models' identifiers, age then gender
	SHA256          string   `parquet:"sha256"`
	TrueAge         *int32   `parquet:"true_age"`
	TrueGender      *int32   `parquet:"true_gender"`
	TrueRace        *int32   `parquet:"true_race"`
}
