package recommend_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/recommend"
)

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  recommend.Config
		want string // a part of the error; "" for none
	}{
		{"zero is the defaults", recommend.Config{}, ""},
		{"negative weight", recommend.Config{CartWeight: -1}, "CartWeight"},
		{"negative blend weight", recommend.Config{Weights: recommend.Weights{KNN: 1, Popularity: -0.1}}, "Weights.Popularity"},
		{"shrinkage NaN", recommend.Config{Shrinkage: nan()}, "Shrinkage"},
		{"negative neighbours", recommend.Config{Neighbors: -1}, "Neighbors"},
		{"too many neighbours", recommend.Config{Neighbors: 201}, "Neighbors 201"},
		{"popularity list too long", recommend.Config{PopularSize: 251}, "PopularSize 251"},
		{"too many content candidates", recommend.Config{ContentCandidates: 1001}, "ContentCandidates"},
		{"negative half-life", recommend.Config{HalfLife: -time.Hour}, "HalfLife"},
		{"log TTL too long", recommend.Config{LogTTL: 100 * 365 * 24 * time.Hour}, "LogTTL"},
		{"negative concurrency", recommend.Config{Concurrency: -2}, "Concurrency"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Validate() = %v, want an error naming %q", err, tc.want)
			}
			if tc.want != "" {
				if _, nerr := recommend.New(openDB(t), tc.cfg, nil); nerr == nil {
					t.Errorf("New accepted a Config Validate refuses")
				}
			}
		})
	}
}

func nan() float64 {
	zero := 0.0
	return zero / zero
}
