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
