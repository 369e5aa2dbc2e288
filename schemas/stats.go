package schemas

// StatsDir is the folder of the statistics tables under an ingest output.
const StatsDir = "stats"

// ReportFile is the HTML report under an ingest output.
const ReportFile = "report.html"

// LabelsDir is the folder of the labels table under StatsDir: one Parquet
// part per shard, named after it (train-00000-of-00008.parquet: the inputs
// routed to that shard), plus UnshardedLabels. Read it as one table:
// 'stats/labels/*.parquet' in DuckDB, pandas.read_parquet("stats/labels").
const LabelsDir = "labels"

// UnshardedLabels is the labels part of the inputs that never reached a
// shard: rejected on inspection or dropped as duplicates.
const UnshardedLabels = "unsharded.parquet"

// Files of the statistics tables under StatsDir.
const (
	GenderTable     = "gender_distribution.parquet"
	AgeHistTable    = "age_histogram.parquet"
	RaceTable       = "race_distribution.parquet"
	AgeSummaryTable = "age_summary.parquet"
	DuplicatesTable = "duplicates.parquet"
)

// LabelRow is one row of the labels table (LabelsDir): one input image, whatever became of
// it. Labels are null when the name couldn't be read; race is -1 when the
// name has no race field.
//
// Nullable columns are pointers: parquet-go's "optional" tag on plain fields
// wrote some empty strings as "" instead of null.
type LabelRow struct {
	File         string  `parquet:"file"`
	Path         string  `parquet:"path"`
	SHA256       *string `parquet:"sha256"` // null when the file couldn't be read
	Age          *int32  `parquet:"age"`
	Gender       *int32  `parquet:"gender"`
	Race         *int32  `parquet:"race"`
	Split        *string `parquet:"split"` // null unless written
	Shard        *string `parquet:"shard"` // the shard file, null unless written
	Status       string  `parquet:"status"`
	RejectReason *string `parquet:"reject_reason"` // null when written
	Bytes        *int64  `parquet:"bytes"`         // null when the file couldn't be read
	Width        *int32  `parquet:"width"`         // from the header; null when unknown
	Height       *int32  `parquet:"height"`
	IsGrayscale  bool    `parquet:"is_grayscale"` // decoded, with all three channels equal
}

// GenderRow is one row of gender_distribution.parquet: the written records of
// a split by gender. Fractions are of the split.
type GenderRow struct {
	Split    string  `parquet:"split"`
	Gender   string  `parquet:"gender"` // male or female
	Count    int64   `parquet:"count"`
	Fraction float64 `parquet:"fraction"`
}

// AgeHistRow is one row of age_histogram.parquet: the written records of a
// split with one age and gender. Only ages that occur have a row.
type AgeHistRow struct {
	Split  string `parquet:"split"`
	Age    int32  `parquet:"age"`
	Gender string `parquet:"gender"`
	Count  int64  `parquet:"count"`
}

// RaceRow is one row of race_distribution.parquet.
type RaceRow struct {
	Split    string  `parquet:"split"`
	Race     string  `parquet:"race"` // white, black, asian, indian, others or unknown
	Count    int64   `parquet:"count"`
	Fraction float64 `parquet:"fraction"`
}

// AgeSummaryRow is one row of age_summary.parquet: the age distribution of a
// split's written records for one gender, or "all". Quantiles interpolate
// linearly between order statistics, as numpy, pandas and DuckDB's
// quantile_cont do.
type AgeSummaryRow struct {
	Split  string  `parquet:"split"`
	Gender string  `parquet:"gender"` // male, female or all
	Count  int64   `parquet:"count"`
	Mean   float64 `parquet:"mean"`
	Stddev float64 `parquet:"stddev"` // sample standard deviation
	Min    int32   `parquet:"min"`
	P25    float64 `parquet:"p25"`
	Median float64 `parquet:"median"`
	P75    float64 `parquet:"p75"`
	Max    int32   `parquet:"max"`
}

// DuplicateRow is one row of duplicates.parquet: a group of byte-identical
// inputs.
type DuplicateRow struct {
	SHA256      string   `parquet:"sha256"`
	Files       []string `parquet:"files,list"`
	LabelsAgree bool     `parquet:"labels_agree"`
	Action      string   `parquet:"action"` // kept_one, dropped_all or kept_all
}
