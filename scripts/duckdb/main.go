// Command duckdb runs SQL on DuckDB's own engine (embedded through
// github.com/duckdb/duckdb-go, a dependency of this project's tests) and
// prints the result as a table: a way to query the pipelines' Parquet
// outputs on a machine without the duckdb command-line client.
//
//	go run ./scripts/duckdb -c "SELECT split, count(*) FROM 'out/ingest/stats/labels/*.parquet' GROUP BY ALL"
//
// -c takes the SQL as the duckdb client's -c does; several statements
// separated by ";" run in order, and each one that returns rows is printed.
// At most -max_rows rows of a result are printed (0: all).
package main

import (
	"database/sql"
	"flag"
	"fmt"
	"io"
	"math/big"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	_ "github.com/duckdb/duckdb-go/v2"
)

func main() {
	query := flag.String("c", "", "the SQL to run (DuckDB's dialect: 'path/*.parquet' reads Parquet files)")
	maxRows := flag.Int("max_rows", 40, "print at most this many rows of a result (0: all)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: duckdb -c \"SQL\" [-max_rows N]\n\nRuns SQL on an in-memory DuckDB and prints each result as a table.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	q := *query
	if q == "" && flag.NArg() > 0 {
		q = strings.Join(flag.Args(), " ")
	}
	if q == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(os.Stdout, q, *maxRows); err != nil {
		fmt.Fprintf(os.Stderr, "duckdb: %v\n", err)
		os.Exit(1)
	}
}

// run runs the statements of q on an in-memory database and prints the
// rows of each to w.
func run(w io.Writer, q string, maxRows int) error {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return err
	}
	defer db.Close()
	for _, stmt := range statements(q) {
		rows, err := db.Query(stmt)
		if err != nil {
			return err
		}
		err = printRows(w, rows, maxRows)
		rows.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// statements splits q at the semicolons outside quotes.
func statements(q string) []string {
	var out []string
	var quote rune
	start := 0
	for i, r := range q {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case r == ';':
			out = append(out, q[start:i])
			start = i + 1
		}
	}
	out = append(out, q[start:])
	kept := out[:0]
	for _, s := range out {
		if strings.TrimSpace(s) != "" {
			kept = append(kept, s)
		}
	}
	return kept
}

// printRows prints a result as a table with a header, columns aligned
// (numbers to the right), NULL for nulls, and a line saying how many rows
// there were when some were left out.
func printRows(w io.Writer, rows *sql.Rows, maxRows int) error {
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	if len(cols) == 0 {
		return nil
	}
	table := [][]string{cols}
	numeric := make([]bool, len(cols))
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	for rows.Next() {
		n++
		if maxRows > 0 && n > maxRows {
			continue
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			var isNum bool
			row[i], isNum = format(v)
			numeric[i] = numeric[i] || isNum
		}
		table = append(table, row)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	width := make([]int, len(cols))
	for _, row := range table {
		for i, c := range row {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	line := func(row []string) {
		var b strings.Builder
		for i, c := range row {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i > 0 {
				b.WriteString(" │ ")
			}
			if numeric[i] {
				b.WriteString(pad + c)
			} else {
				b.WriteString(c + pad)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	line(table[0])
	sep := make([]string, len(cols))
	for i := range sep {
		sep[i] = strings.Repeat("─", width[i])
	}
	fmt.Fprintln(w, strings.Join(sep, "─┼─"))
	for _, row := range table[1:] {
		line(row)
	}
	if maxRows > 0 && n > maxRows {
		fmt.Fprintf(w, "(%d rows, %d shown: -max_rows=0 shows all)\n", n, maxRows)
	} else {
		fmt.Fprintf(w, "(%d rows)\n", n)
	}
	return nil
}

// format writes a value as DuckDB's client would, roughly, and says whether
// it is a number.
func format(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "NULL", false
	case float64:
		return strconv.FormatFloat(x, 'g', 6, 64), true
	case float32:
		return strconv.FormatFloat(float64(x), 'g', 6, 32), true
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return fmt.Sprint(x), true
	case *big.Int: // HUGEINT, as sum() of integers gives
		return x.String(), true
	case []byte:
		return string(x), false
	case time.Time:
		return x.Format(time.RFC3339), false
	}
	return fmt.Sprint(v), false
}
