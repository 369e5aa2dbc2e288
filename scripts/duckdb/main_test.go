package main

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

type row struct {
	Split string   `parquet:"split"`
	Age   int32    `parquet:"age"`
	P     *float64 `parquet:"p_female"`
}

// The demo's query shape, on a Parquet folder written here: the table has
// a header, one line per row, NULLs, and counts computed independently.
func TestRunPrintsTheResult(t *testing.T) {
	dir := t.TempDir()
	half := 0.5
	rows := []row{{"train", 30, &half}, {"train", 40, nil}, {"test", 20, &half}}
	for i, part := range [][]row{rows[:2], rows[2:]} {
		if err := parquet.WriteFile(filepath.Join(dir, fmt.Sprintf("part-%d.parquet", i)), part); err != nil {
			t.Fatal(err)
		}
	}
	var w bytes.Buffer
	q := fmt.Sprintf("SELECT split, count(*) AS n, sum(age) AS ages FROM '%s/*.parquet' GROUP BY ALL ORDER BY split; "+
		"SELECT age, p_female FROM '%[1]s/*.parquet' ORDER BY age", dir)
	if err := run(&w, q, 0); err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimRight(w.String(), "\n"), "\n")
	want := []string{
		"split │ n │ ages",
		"──────┼───┼─────",
		"test  │ 1 │   20",
		"train │ 2 │   70",
		"(2 rows)",
		"age │ p_female",
		"────┼─────────",
		" 20 │      0.5",
		" 30 │      0.5",
		" 40 │     NULL",
		"(3 rows)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", w.String(), strings.Join(want, "\n"))
	}
	w.Reset()
	if err := run(&w, "SELECT * FROM range(100)", 3); err != nil || !strings.Contains(w.String(), "(100 rows, 3 shown") {
		t.Errorf("-max_rows=3: %v\n%s", err, w.String())
	}
	if err := run(&w, "SELECT * FROM 'nothing-here/*.parquet'", 0); err == nil {
		t.Error("a query of missing files succeeded")
	}
}

func TestStatements(t *testing.T) {
	got := statements("SELECT 'a;b'; SELECT \"x;\" FROM t;; ")
	if len(got) != 2 || got[0] != "SELECT 'a;b'" || strings.TrimSpace(got[1]) != `SELECT "x;" FROM t` {
		t.Errorf("statements: %q", got)
	}
}
