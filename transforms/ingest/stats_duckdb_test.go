package ingest_test

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/facepipe/facepipe/internal/ingesttest"
	"github.com/facepipe/facepipe/labels"
	"github.com/facepipe/facepipe/schemas"
)

// TestStatsInDuckDB reads the statistics tables back with DuckDB, as an
// analyst would, and checks them against counts computed independently from
// the fixtures' file names and against the shards.
func TestStatsInDuckDB(t *testing.T) {
	in, files := ingesttest.Generate(t, allKinds)
	out := t.TempDir()
	m := ingesttest.Run(t, "prism", ingesttest.Config(in, out))
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	table := func(name string) string {
		return "'" + filepath.Join(out, schemas.StatsDir, name) + "'"
	}
	// The labels table is a folder of parts, read as one table.
	labelsTable := table(schemas.LabelsDir + "/*.parquet")
	query := func(q string, args ...any) *sql.Rows {
		t.Helper()
		rows, err := db.Query(q, args...)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return rows
	}
	scanMap := func(q string) map[string]int64 {
		t.Helper()
		rows := query(q)
		defer rows.Close()
		got := map[string]int64{}
		for rows.Next() {
			var k string
			var n int64
			if err := rows.Scan(&k, &n); err != nil {
				t.Fatal(err)
			}
			got[k] = n
		}
		return got
	}
	equal := func(what string, got, want map[string]int64) {
		t.Helper()
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s[%q] = %d, want %d (got %v)", what, k, got[k], v, got)
			}
		}
		for k, v := range got {
			if _, ok := want[k]; !ok && v != 0 {
				t.Errorf("%s has unexpected %q = %d", what, k, v)
			}
		}
	}

	// Independent counts from the file names of the files that must be written.
	gender, race, status, age := map[string]int64{}, map[string]int64{}, map[string]int64{}, map[string]int64{}
	for _, f := range files {
		switch {
		case f.Reason == "":
			status[transformsStatusWritten]++
			gender[labels.GenderName(f.Gender)]++
			race[labels.RaceName(f.Race)]++
			age[fmt.Sprint(f.Age)]++
		case f.Reason == schemas.ReasonDuplicate || f.Reason == schemas.ReasonDuplicateConflict:
			status["duplicate"]++
		default:
			status["rejected"]++
		}
	}
	equal("gender", scanMap("SELECT gender, sum(count) FROM "+table(schemas.GenderTable)+" GROUP BY ALL"), gender)
	equal("race", scanMap("SELECT race, sum(count) FROM "+table(schemas.RaceTable)+" GROUP BY ALL"), race)
	equal("age", scanMap("SELECT CAST(age AS VARCHAR), sum(count) FROM "+table(schemas.AgeHistTable)+" GROUP BY ALL"), age)
	equal("status", scanMap("SELECT status, count(*) FROM "+labelsTable+" GROUP BY ALL"), status)

	// One labels part per shard that received inputs, named after it, plus
	// the unsharded inputs; the manifest lists each with its row count.
	parts := map[string]int64{}
	var inParts int64
	for _, e := range m.Stats {
		if rel, ok := strings.CutPrefix(e.File, schemas.StatsDir+"/"+schemas.LabelsDir+"/"); ok {
			parts[rel] = int64(e.Records)
			inParts += int64(e.Records)
		}
	}
	if inParts != int64(m.Counts.Inputs) || parts[schemas.UnshardedLabels] == 0 {
		t.Errorf("labels parts %v: %d rows, want %d (one per input), unsharded included", parts, inParts, m.Counts.Inputs)
	}
	for _, sp := range m.Splits {
		for _, sh := range sp.Shards {
			stem, _, _ := strings.Cut(filepath.Base(sh.File), ".")
			if sh.Records > 0 && parts[stem+".parquet"] < int64(sh.Records) {
				t.Errorf("shard %s has %d records, its labels part %d rows", sh.File, sh.Records, parts[stem+".parquet"])
			}
		}
	}
	equal("rows per labels part", scanMap("SELECT parse_filename(filename), count(*) FROM read_parquet("+labelsTable+", filename = true) GROUP BY ALL"), parts)
	onDisk, _ := filepath.Glob(filepath.Join(out, schemas.StatsDir, schemas.LabelsDir, "*"))
	if len(onDisk) != len(parts) {
		t.Errorf("%d files in %s, want the %d in the manifest", len(onDisk), schemas.LabelsDir, len(parts))
	}

	// A split's count in the tables equals the records in its shards.
	shards := map[string]int64{}
	for _, sp := range m.Splits {
		shards[sp.Name] = int64(sp.Records)
	}
	equal("split", scanMap("SELECT split, sum(count) FROM "+table(schemas.GenderTable)+" GROUP BY ALL"), shards)
	equal("labels split", scanMap("SELECT split, count(*) FROM "+labelsTable+" WHERE status = 'written' GROUP BY ALL"), shards)
	equal("age summary", scanMap("SELECT split, count FROM "+table(schemas.AgeSummaryTable)+" WHERE gender = 'all'"), shards)

	// Every reject carries its reason; rejects have no split.
	reasons := scanMap("SELECT file, 1 FROM " + labelsTable + " WHERE split IS NULL AND status != 'written'")
	for _, f := range files {
		if f.Reason == "" {
			continue
		}
		var got sql.NullString
		if err := db.QueryRow("SELECT reject_reason FROM "+labelsTable+" WHERE file = ?", f.Name).Scan(&got); err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		if got.String != f.Reason || reasons[f.Name] != 1 {
			t.Errorf("%s: reject_reason %q, want %q", f.Name, got.String, f.Reason)
		}
	}
	// Nulls: exactly the written rows have a split and a shard and no reason.
	var badNulls int64
	db.QueryRow("SELECT count(*) FROM " + labelsTable + " WHERE (status = 'written') != " +
		"(split IS NOT NULL AND shard IS NOT NULL AND reject_reason IS NULL)").Scan(&badNulls)
	if badNulls != 0 {
		t.Errorf("%d rows whose split, shard or reject_reason disagree with their status", badNulls)
	}

	// Rejected names have null labels; names without race have -1.
	var badNames int64
	for _, f := range files {
		switch f.Reason {
		case schemas.ReasonNameUnparseable, schemas.ReasonAgeOutOfRange, schemas.ReasonGenderInvalid, schemas.ReasonRaceInvalid:
			badNames++
		}
	}
	var nullAges, noRace int64
	db.QueryRow("SELECT count(*) FROM " + labelsTable + " WHERE age IS NULL").Scan(&nullAges)
	db.QueryRow("SELECT count(*) FROM " + labelsTable + " WHERE race = -1").Scan(&noRace)
	if nullAges != badNames || badNames == 0 || noRace != 3 {
		t.Errorf("%d null ages (want %d rejected names), %d race -1 (want 3)", nullAges, badNames, noRace)
	}

	// The summary's quantiles agree with DuckDB's over the labels.
	rows := query("SELECT s.split, s.median, s.p25, s.p75, s.mean, " +
		"quantile_cont(l.age, 0.5), quantile_cont(l.age, 0.25), quantile_cont(l.age, 0.75), avg(l.age) " +
		"FROM " + table(schemas.AgeSummaryTable) + " s JOIN " + labelsTable + " l " +
		"ON l.split = s.split AND l.status = 'written' WHERE s.gender = 'all' GROUP BY ALL")
	n := 0
	for rows.Next() {
		var split string
		var v [8]float64
		if err := rows.Scan(&split, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 4; i++ {
			if d := v[i] - v[i+4]; d > 1e-9 || d < -1e-9 {
				t.Errorf("split %s: summary %v, DuckDB %v", split, v[:4], v[4:])
				break
			}
		}
		n++
	}
	rows.Close()
	if n != len(m.Splits) {
		t.Errorf("summaries for %d splits, want %d", n, len(m.Splits))
	}

	// Duplicate groups: files as a list, and the policy.
	dups := scanMap("SELECT action || ':' || CAST(labels_agree AS VARCHAR) || ':' || CAST(len(files) AS VARCHAR), count(*) FROM " +
		table(schemas.DuplicatesTable) + " GROUP BY ALL")
	equal("duplicates", dups, map[string]int64{"kept_one:true:3": 1, "dropped_all:false:2": 2})

	// Strings are STRING (VARCHAR in DuckDB), counts are integers.
	types := map[string]string{}
	rows = query("DESCRIBE SELECT * FROM " + labelsTable)
	for rows.Next() {
		var name, typ string
		var null, key, def, extra sql.NullString
		if err := rows.Scan(&name, &typ, &null, &key, &def, &extra); err != nil {
			t.Fatal(err)
		}
		types[name] = typ
	}
	rows.Close()
	for col, want := range map[string]string{"file": "VARCHAR", "split": "VARCHAR", "status": "VARCHAR", "age": "INTEGER", "bytes": "BIGINT", "is_grayscale": "BOOLEAN"} {
		if types[col] != want {
			t.Errorf("labels.%s is %s, want %s", col, types[col], want)
		}
	}
	var dupFiles []string
	rows = query("SELECT unnest(files) FROM " + table(schemas.DuplicatesTable))
	for rows.Next() {
		var f string
		rows.Scan(&f)
		dupFiles = append(dupFiles, f)
	}
	rows.Close()
	if len(dupFiles) != 7 || !strings.HasSuffix(dupFiles[0], ".jpg.chip.jpg") {
		t.Errorf("duplicate files %v", dupFiles)
	}
	if _, err := os.Stat(filepath.Join(out, schemas.ReportFile)); err != nil {
		t.Error(err)
	}
}

const transformsStatusWritten = "written"
