package migrate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// Func is a migration step written in Go. It runs with the Migrator's DB while the
// migration lock is held; ctx is cancelled if the lock is lost. Models resolve their
// tables in db.Keyspace(), and so do unqualified names in db.ExecCQL, which also waits
// for schema agreement (and index builds) after a schema change, as db.Sync and
// db.CreateKeyspace do. Use models, db.Sync and db.ExecCQL rather than the driver
// session (db.Session, the escape hatch), which skips all of that.
type Func func(ctx context.Context, db *orm.DB) error

// Migration is one versioned change written in Go. Add it to a Migrator with Add.
type Migration struct {
	// Version orders migrations and identifies them in the migrations table. It must be
	// positive and unique among the Migrator's migrations, Go and .cql alike.
	Version int64
	// Name says what the migration does, in a word or a few joined by underscores.
	Name string
	// Up applies the change. Required.
	Up Func
	// Down reverts it; nil makes the migration irreversible (Down stops at it).
	Down Func
}

// migration is a Migration of either kind, as the Migrator keeps it.
type migration struct {
	version int64
	name    string
	source  string // the up file's path in its fs.FS, or where Add was called for Go
	goUp    Func
	goDown  Func
	cqlUp   []Statement
	cqlDown []Statement
	hasDown bool   // a .cql migration with a down file
	sum     string // hex SHA-256 of the up file, empty for Go migrations
	downSrc string // the down file's path
}

func (m *migration) isCQL() bool { return m.goUp == nil }

func (m *migration) label() string { return label(m.version, m.name) }

func (m *migration) reversible() bool {
	if m.isCQL() {
		return m.hasDown
	}
	return m.goDown != nil
}

func (m *migration) kind() string {
	if m.isCQL() {
		return "cql"
	}
	return "go"
}

// label is how a migration is shown: its version zero-padded to four digits and name,
// the way migration files are named.
func label(version int64, name string) string { return fmt.Sprintf("%04d_%s", version, name) }

// checksum is the hex SHA-256 of a migration file with CRLF line ends read as LF, so
// a checkout that converts line ends does not look like an edit.
func checksum(text string) string {
	sum := sha256.Sum256([]byte(strings.ReplaceAll(text, "\r\n", "\n")))
	return hex.EncodeToString(sum[:])
}

// fileRE matches migration file names: 0001_create_users.up.cql.
var fileRE = regexp.MustCompile(`^([0-9]+)_([A-Za-z0-9_-]+)\.(up|down)\.cql$`)

// loadFS reads the migration files in directory dir of fsys.
func loadFS(fsys fs.FS, dir string) ([]*migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("migrate: reading migrations: %w", err)
	}
	byVersion := map[int64]*migration{}
	var order []int64
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".cql") {
			continue
		}
		p := path.Join(dir, e.Name())
		g := fileRE.FindStringSubmatch(e.Name())
		if g == nil {
			return nil, fmt.Errorf("%w: %s: want a name like 0001_create_users.up.cql or 0001_create_users.down.cql",
				ErrInvalidMigration, p)
		}
		v, err := strconv.ParseInt(g[1], 10, 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("%w: %s: version must be a positive 64-bit number", ErrInvalidMigration, p)
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, fmt.Errorf("migrate: reading %s: %w", p, err)
		}
		stmts, err := SplitCQL(string(data))
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrInvalidMigration, p, err)
		}
		m := byVersion[v]
		if m == nil {
			m = &migration{version: v, name: g[2]}
			byVersion[v] = m
			order = append(order, v)
		}
		if m.name != g[2] {
			return nil, fmt.Errorf("%w: version %d: %s and %s", ErrDuplicateVersion, v, describe(m), p)
		}
		switch g[3] {
		case "up":
			if m.source != "" {
				return nil, fmt.Errorf("%w: version %d: %s and %s", ErrDuplicateVersion, v, m.source, p)
			}
			m.source, m.cqlUp, m.sum = p, stmts, checksum(string(data))
		case "down":
			if m.hasDown {
				return nil, fmt.Errorf("%w: version %d: %s and %s", ErrDuplicateVersion, v, m.downSrc, p)
			}
			m.downSrc, m.cqlDown, m.hasDown = p, stmts, true
		}
	}
	out := make([]*migration, 0, len(order))
	for _, v := range order {
		m := byVersion[v]
		if m.source == "" {
			return nil, fmt.Errorf("%w: %s has no matching .up.cql file", ErrInvalidMigration, m.downSrc)
		}
		if len(m.cqlUp) == 0 {
			return nil, fmt.Errorf("%w: %s holds no statement", ErrInvalidMigration, m.source)
		}
		out = append(out, m)
	}
	return out, nil
}

// describe names where a migration comes from, for error messages.
func describe(m *migration) string {
	if m.source != "" {
		return m.source
	}
	return m.downSrc
}
