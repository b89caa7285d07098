package devenv

import (
	"errors"
	"slices"
	"testing"
)

// Each missing tool adds its Debian package to the install command, in a
// fixed order; chromium and its fonts are checked like the servers' tools.
func TestLookTools(t *testing.T) {
	for _, tc := range []struct {
		name      string
		absent    []string // programs not on PATH
		noFont    bool
		noJava    bool
		needMaven bool
		want      []string
	}{
		{name: "all there", needMaven: true},
		{name: "no chromium", absent: []string{"chromium"}, want: []string{"chromium"}},
		{name: "no fonts", noFont: true, want: []string{"fonts-dejavu-core"}},
		{name: "maven not needed", absent: []string{"mvn"}},
		{name: "nothing", absent: []string{"mvn", "redis-server", "chromium"}, noFont: true, noJava: true, needMaven: true,
			want: []string{"openjdk-17-jre-headless", "maven", "redis-server", "chromium", "fonts-dejavu-core"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := host{
				lookPath: func(file string) (string, error) {
					if slices.Contains(tc.absent, file) {
						return "", errors.New("not found")
					}
					return "/usr/bin/" + file, nil
				},
				exists: func(path string) bool { return path != dejavuFont || !tc.noFont },
				java: func() (string, error) {
					if tc.noJava {
						return "", errors.New("no java found")
					}
					return "/usr/bin/java", nil
				},
			}
			got, missing, packages := lookTools(h, tc.needMaven)
			if !slices.Equal(packages, tc.want) || len(missing) != len(packages) {
				t.Fatalf("packages %q (missing %q), want %q", packages, missing, tc.want)
			}
			if !slices.Contains(tc.absent, "chromium") && got.chromium != "/usr/bin/chromium" {
				t.Errorf("chromium %q", got.chromium)
			}
		})
	}
}
