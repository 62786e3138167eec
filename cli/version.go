package cli

import "github.com/BurntSushi/toml"

// AppVersion returns the version in FyneApp.toml's [Details] (the file the
// packaged builds also read), or "" when the file has none.
func AppVersion(fyneAppTOML []byte) string {
	var meta struct {
		Details struct {
			Version string
			Build   int
		}
	}
	if _, err := toml.Decode(string(fyneAppTOML), &meta); err != nil {
		return ""
	}
	return meta.Details.Version
}
