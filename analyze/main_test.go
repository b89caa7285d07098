package analyze_test

import (
	"testing"

	"github.com/cassandraorm/cassandraorm-go/testenv"
)

var env = testenv.New("analyze_test")

func TestMain(m *testing.M) { env.Main(m) }
