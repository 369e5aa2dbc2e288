// Package labels parses the age, gender and race that UTKFace file names
// carry: age_gender_race_timestamp.jpg.chip.jpg.
package labels

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/facepipe/facepipe/schemas"
)

// Limits on the labels that ParseName accepts.
const (
	MinAge   = 1
	MaxAge   = 120
	MaxRace  = 4
	NoRace   = -1 // Race when the name has no race field
	Male     = 0
	Female   = 1
	maxDigit = 9 // longest age, gender or race field read as a number
)

// Labels are the labels one file name carries.
type Labels struct {
	Age    int
	Gender int // 0 male, 1 female
	Race   int // 0 White, 1 Black, 2 Asian, 3 Indian, 4 Others; NoRace if absent
}

// Error says why a name was rejected. Reason is one of the schemas.Reason*
// codes for names.
type Error struct {
	Name   string
	Reason string
	Detail string
}

func (e *Error) Error() string {
	return fmt.Sprintf("labels: %q: %s: %s", e.Name, e.Reason, e.Detail)
}

// ParseName reads the labels from a UTKFace base name, strictly: the name is
// age_gender_race_rest, where age, gender and race are decimal integers.
//
// The real dataset has odd names, handled as follows. A name with only three
// fields, such as 39_1_20170116174525125.jpg.chip.jpg, has no race field: the
// third field is the timestamp, and Race is NoRace. Whatever follows the race
// field (timestamps of any length, a space or a missing dot before "jpg") is
// not interpreted.
//
// A name is rejected when age or gender can't be read, gender is not 0 or 1,
// race is outside 0-4, or age is outside MinAge-MaxAge.
func ParseName(name string) (Labels, error) {
	fail := func(reason, format string, args ...any) (Labels, error) {
		return Labels{}, &Error{Name: name, Reason: reason, Detail: fmt.Sprintf(format, args...)}
	}
	fields := strings.SplitN(name, "_", 4)
	if len(fields) < 3 {
		return fail(schemas.ReasonNameUnparseable, "want age_gender_race_rest, found %d underscore-separated fields", len(fields))
	}
	age, ok := smallInt(fields[0])
	if !ok {
		return fail(schemas.ReasonNameUnparseable, "age field %q is not a number", fields[0])
	}
	gender, ok := smallInt(fields[1])
	if !ok {
		return fail(schemas.ReasonNameUnparseable, "gender field %q is not a number", fields[1])
	}
	race := NoRace
	if len(fields) == 4 {
		if race, ok = smallInt(fields[2]); !ok {
			return fail(schemas.ReasonNameUnparseable, "race field %q is not a number", fields[2])
		}
	}
	// Plain ifs rather than a switch: coverage tools (and so gremlins) count
	// a case expression as never run.
	if age < MinAge || age > MaxAge {
		return fail(schemas.ReasonAgeOutOfRange, "age %d is outside %d-%d", age, MinAge, MaxAge)
	}
	if gender != Male && gender != Female {
		return fail(schemas.ReasonGenderInvalid, "gender %d is not 0 (male) or 1 (female)", gender)
	}
	if race != NoRace && (race < 0 || race > MaxRace) {
		return fail(schemas.ReasonRaceInvalid, "race %d is outside 0-%d", race, MaxRace)
	}
	return Labels{Age: age, Gender: gender, Race: race}, nil
}

// smallInt parses a short, unsigned decimal field: no sign, no spaces.
func smallInt(s string) (int, bool) {
	if s == "" || len(s) > maxDigit {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// GenderName is "male" or "female" for a valid gender.
func GenderName(g int) string {
	if g == Female {
		return "female"
	}
	return "male"
}

// RaceName is "white", "black", "asian", "indian", "others" or "unknown".
func RaceName(r int) string {
	switch r {
	case 0:
		return "white"
	case 1:
		return "black"
	case 2:
		return "asian"
	case 3:
		return "indian"
	case 4:
		return "others"
	}
	return "unknown"
}
