//go:build race

package example

// raceEnabled is true under -race, whose instrumentation changes escape
// analysis, so allocation counts are not checked.
const raceEnabled = true
