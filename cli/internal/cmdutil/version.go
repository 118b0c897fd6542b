package cmdutil

import "runtime/debug"

// version is set by -ldflags "-X github.com/omega-listen/omega-listen/cli/internal/cmdutil.version=v1.2.3";
// otherwise it comes from the module's build info.
var version = ""

// Version is omega-listen's version.
func Version() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	v := bi.Main.Version
	if v == "" || v == "(devel)" {
		v = "dev"
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += "+" + s.Value[:12]
		}
	}
	return v
}

// UserAgent is what omega-listen calls itself to Omega.
func UserAgent() string { return "omega-listen/" + Version() }
