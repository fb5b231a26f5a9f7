package federation

import "github.com/umm-project/umm/internal/config"

// presetNames are the names the sign-in page shows for the presets.
var presetNames = map[string]string{
	config.ConnGoogle: "Google", config.ConnApple: "Apple", config.ConnMicrosoft: "Microsoft", config.ConnGitHub: "GitHub",
	config.ConnGitLab: "GitLab", config.ConnFacebook: "Facebook", config.ConnLinkedIn: "LinkedIn",
}

// PresetName is the display name of a preset type, "" for other types.
func PresetName(typ string) string { return presetNames[typ] }

// PresetLogo is the button icon of a preset type as a data: URL, "" when it has none.
func PresetLogo(typ string) string { return "" }
