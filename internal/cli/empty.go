package cli

import (
	"fmt"
	"strings"

	"github.com/facepipe/facepipe/schemas"
)

// EmptyRun is the failure of a run that produced nothing: "0 records
// written" (what), with how many inputs were read and the rejects by reason,
// on one line, and the flag that accepts an empty output.
func EmptyRun(what string, inputs int, reasons []schemas.ReasonCount) error {
	var parts []string
	for _, r := range reasons {
		parts = append(parts, fmt.Sprintf("%s %d", r.Reason, r.Count))
	}
	by := "none rejected"
	if len(parts) > 0 {
		by = "rejected: " + strings.Join(parts, ", ")
	}
	return fmt.Errorf("%s of %d inputs; %s (--allow_empty accepts an empty output)", what, inputs, by)
}
