package core

import (
	"errors"
	"testing"
	"time"
)

func TestCheckExpiryBoundaries(t *testing.T) {
	created := time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		kind    PermissionKind
		expires time.Time
		want    error
	}{
		{"exactly 1 hour", KindSections, created.Add(time.Hour), nil},
		{"1 hour minus 1s", KindSections, created.Add(time.Hour - time.Second), ErrLifetimeTooShort},
		{"in the past", KindSections, created.Add(-time.Hour), ErrLifetimeTooShort},
		{"exactly 12 months (calendar)", KindSections, created.AddDate(0, 12, 0), nil},
		{"12 months plus 1s", KindSections, created.AddDate(0, 12, 0).Add(time.Second), ErrLifetimeTooLong},
		{"global exactly 7 days", KindGlobal, created.Add(7 * 24 * time.Hour), nil},
		{"global 7 days plus 1s", KindGlobal, created.Add(7*24*time.Hour + time.Second), ErrGlobalTooLong},
		{"global 1 hour", KindGlobal, created.Add(time.Hour), nil},
		{"operations 30 days", KindOperations, created.Add(30 * 24 * time.Hour), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := CheckExpiry(created, tc.expires, tc.kind); !errors.Is(err, tc.want) {
				t.Fatalf("CheckExpiry = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestDefaultExpiry(t *testing.T) {
	created := time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC)
	if got, want := (Lifetime{}).ExpiresAt(created, KindSections), created.AddDate(1, 0, 0); !got.Equal(want) {
		t.Errorf("default = %v, want %v", got, want)
	}
	if got, want := (Lifetime{}).ExpiresAt(created, KindGlobal), created.Add(7*24*time.Hour); !got.Equal(want) {
		t.Errorf("global default = %v, want %v", got, want)
	}
}

func TestParseLifetime(t *testing.T) {
	created := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		err  bool
	}{
		{"1h", created.Add(time.Hour), false},
		{"36h", created.Add(36 * time.Hour), false},
		{"7d", created.Add(7 * 24 * time.Hour), false},
		{"30d", created.Add(30 * 24 * time.Hour), false},
		{"6mo", created.AddDate(0, 6, 0), false},
		{"12mo", created.AddDate(0, 12, 0), false},
		{"2027-01-02T03:04:05+01:00", time.Date(2027, 1, 2, 2, 4, 5, 0, time.UTC), false},
		{"", time.Time{}, true},
		{"0h", time.Time{}, true},
		{"-5d", time.Time{}, true},
		{"7 days", time.Time{}, true},
		{"1y", time.Time{}, true},
		{"h", time.Time{}, true},
	}
	for _, tc := range tests {
		l, err := ParseLifetime(tc.in)
		if tc.err {
			if !errors.Is(err, ErrBadLifetime) {
				t.Errorf("ParseLifetime(%q) error = %v, want ErrBadLifetime", tc.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseLifetime(%q): %v", tc.in, err)
			continue
		}
		if got := l.ExpiresAt(created, KindSections); !got.Equal(tc.want) {
			t.Errorf("ParseLifetime(%q) expires %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestPresetsAllowed(t *testing.T) {
	created := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	var global, sections []string
	for _, p := range Presets {
		if p.Allowed(created, KindGlobal) {
			global = append(global, p.Label)
		}
		if p.Allowed(created, KindSections) {
			sections = append(sections, p.Label)
		}
	}
	if len(sections) != len(Presets) {
		t.Errorf("section presets allowed = %v, want all", sections)
	}
	if want := []string{"1 hour", "1 day", "7 days"}; len(global) != 3 || global[0] != want[0] || global[2] != want[2] {
		t.Errorf("global presets allowed = %v, want %v", global, want)
	}
}

func TestCleanName(t *testing.T) {
	tests := []struct {
		in, want string
		err      error
	}{
		{"  Zapier  ", "Zapier", nil},
		{"Интеграция 東京 ✓", "Интеграция 東京 ✓", nil},
		{"", "", ErrNameEmpty},
		{"tab\tinside", "", ErrNameControl},
		{"zero\u200bwidth", "", ErrNameControl},
		{"bad \xff utf8", "", ErrNameControl},
	}
	for _, tc := range tests {
		got, err := CleanName(tc.in)
		if !errors.Is(err, tc.err) || got != tc.want {
			t.Errorf("CleanName(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
	hundred := ""
	for range 100 {
		hundred += "ü"
	}
	if _, err := CleanName(hundred); err != nil {
		t.Errorf("100 characters refused: %v", err)
	}
	if _, err := CleanName(hundred + "ü"); !errors.Is(err, ErrNameTooLong) {
		t.Errorf("101 characters: %v", err)
	}
}
