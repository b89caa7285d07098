package registry

import (
	"testing"

	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// Env is the test environment of the package's tests, internal and external. The
// tenant keyspaces they create are named with Env.KeyspacePrefix(), so Main drops
// them at the end.
var Env = testenv.New("registry_test")

func TestMain(m *testing.M) { Env.Main(m) }
