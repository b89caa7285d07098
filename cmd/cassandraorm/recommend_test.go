package main

import (
	"bytes"
	"strings"
	"testing"
)

// The command refuses what it cannot run before fetching anything.
func TestRecommendCommandRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no subcommand", nil, "usage: cassandraorm recommend eval"},
		{"unknown subcommand", []string{"train"}, "usage: cassandraorm recommend eval"},
		{"bad flag", []string{"eval", "-nope"}, "flag provided but not defined"},
		{"stray argument", []string{"eval", "extra"}, "unexpected arguments"},
		{"negative k", []string{"eval", "-k", "-1"}, "K -1 is negative"},
		{"unknown embedder", []string{"eval", "-embed", "openai"}, `-embed "openai": want minilm or none`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := recommendCmd(t.Context(), tc.args, &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("recommend %v = %v, want an error containing %q", tc.args, err, tc.want)
			}
			if out.Len() != 0 {
				t.Errorf("recommend %v printed %q", tc.args, out.String())
			}
		})
	}
}
