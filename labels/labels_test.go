package labels

import (
	"errors"
	"testing"

	"github.com/facepipe/facepipe/schemas"
)

func TestParseName(t *testing.T) {
	tests := []struct {
		name   string
		want   Labels
		reason string // "" when the name must parse
	}{
		{"100_0_0_20170112215240346.jpg.chip.jpg", Labels{100, 0, 0}, ""},
		{"1_1_4_20161221193016140.jpg.chip.jpg", Labels{1, 1, 4}, ""},
		{"26_0_2_20170104023102422.jpg.chip.jpg", Labels{26, 0, 2}, ""},
		// The 8 odd names of the real dataset.
		{"39_1_20170116174525125.jpg.chip.jpg", Labels{39, 1, NoRace}, ""},
		{"61_1_20170109142408075.jpg.chip.jpg", Labels{61, 1, NoRace}, ""},
		{"61_1_20170109150557335.jpg.chip.jpg", Labels{61, 1, NoRace}, ""},
		{"28_1_2_201701161846515488.jpg.chip.jpg", Labels{28, 1, 2}, ""},
		{"38_0_1_201701162330572788.jpg.chip.jpg", Labels{38, 0, 1}, ""},
		{"14_0_0_2017011022340900.jpg.chip.jpg", Labels{14, 0, 0}, ""},
		{"24_0_1_20170116220224657 .jpg.chip.jpg", Labels{24, 0, 1}, ""},
		{"55_0_0_20170116232725357jpg.chip.jpg", Labels{55, 0, 0}, ""},
		// Limits.
		{"120_0_4_x.jpg", Labels{120, 0, 4}, ""},
		{"0_0_0_20170112215240346.jpg.chip.jpg", Labels{}, schemas.ReasonAgeOutOfRange},
		{"121_0_0_20170112215240346.jpg.chip.jpg", Labels{}, schemas.ReasonAgeOutOfRange},
		{"1000_0_0_20170112215240346.jpg.chip.jpg", Labels{}, schemas.ReasonAgeOutOfRange},
		{"30_2_0_20170112215240346.jpg.chip.jpg", Labels{}, schemas.ReasonGenderInvalid},
		{"30_1_5_20170112215240346.jpg.chip.jpg", Labels{}, schemas.ReasonRaceInvalid},
		// Unreadable.
		{"abc_0_0_20170112215240346.jpg.chip.jpg", Labels{}, schemas.ReasonNameUnparseable},
		{"noname.jpg", Labels{}, schemas.ReasonNameUnparseable},
		{"", Labels{}, schemas.ReasonNameUnparseable},
		{"30_0.jpg", Labels{}, schemas.ReasonNameUnparseable},
		{"_0_0_x.jpg", Labels{}, schemas.ReasonNameUnparseable},
		{"30__0_x.jpg", Labels{}, schemas.ReasonNameUnparseable},
		{"-3_0_0_x.jpg", Labels{}, schemas.ReasonNameUnparseable},
		{"+3_0_0_x.jpg", Labels{}, schemas.ReasonNameUnparseable},
		{" 30_0_0_x.jpg", Labels{}, schemas.ReasonNameUnparseable},
		{"30_0_x_y.jpg", Labels{}, schemas.ReasonNameUnparseable},
		{"30_f_0_x.jpg", Labels{}, schemas.ReasonNameUnparseable},
		{"99999999999_0_0_x.jpg", Labels{}, schemas.ReasonNameUnparseable},
		// Fields of up to 9 digits are read as numbers; 10 are not.
		{"000000030_000000001_000000004_x.jpg", Labels{30, 1, 4}, ""},
		{"0000000030_0_0_x.jpg", Labels{}, schemas.ReasonNameUnparseable},
		{"30_0000000001_0_x.jpg", Labels{}, schemas.ReasonNameUnparseable},
		{"30_1_0000000004_x.jpg", Labels{}, schemas.ReasonNameUnparseable},
		// Every digit, and the characters either side of '0' and '9'.
		{"98_0_3_x.jpg", Labels{98, 0, 3}, ""},
		{"57_1_1_x.jpg", Labels{57, 1, 1}, ""},
		{"6/_0_0_x.jpg", Labels{}, schemas.ReasonNameUnparseable},
		{"6:_0_0_x.jpg", Labels{}, schemas.ReasonNameUnparseable},
		{"30_1_-1_x.jpg", Labels{}, schemas.ReasonNameUnparseable},
		{"30_0_0", Labels{30, 0, NoRace}, ""},
	}
	for _, tc := range tests {
		got, err := ParseName(tc.name)
		if tc.reason == "" {
			if err != nil || got != tc.want {
				t.Errorf("ParseName(%q) = %+v, %v; want %+v", tc.name, got, err, tc.want)
			}
			continue
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("ParseName(%q) = %+v, %v; want reason %s", tc.name, got, err, tc.reason)
			continue
		}
		if e.Reason != tc.reason || e.Name != tc.name || e.Detail == "" {
			t.Errorf("ParseName(%q) error = %+v; want reason %s with the name and a detail", tc.name, e, tc.reason)
		}
	}
}

func TestNames(t *testing.T) {
	if GenderName(0) != "male" || GenderName(1) != "female" {
		t.Error("GenderName")
	}
	for r, want := range []string{"white", "black", "asian", "indian", "others"} {
		if RaceName(r) != want {
			t.Errorf("RaceName(%d) = %q", r, RaceName(r))
		}
	}
	if RaceName(NoRace) != "unknown" {
		t.Error("RaceName(-1)")
	}
}

func FuzzParseName(f *testing.F) {
	for _, s := range []string{"39_1_20170116174525125.jpg.chip.jpg", "24_0_1_20170116220224657 .jpg.chip.jpg", "1_1_4_x", "__", "0_0_0_", "999_1_9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		l, err := ParseName(name)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Reason == "" {
				t.Fatalf("ParseName(%q): error without a reason: %v", name, err)
			}
			return
		}
		if l.Age < MinAge || l.Age > MaxAge || (l.Gender != 0 && l.Gender != 1) || l.Race < NoRace || l.Race > MaxRace {
			t.Fatalf("ParseName(%q) accepted out-of-range labels %+v", name, l)
		}
	})
}
