package orm

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"sync"
)

// Page cursors. A cursor is the driver's paging state followed by a MAC over the
// statement, its bound values (their CQL encoding, so values that print alike but
// differ are told apart, and a pointer or another time zone for the same instant is
// not) and the paging state, keyed by the DB's cursor key. A cursor handed to
// another query, truncated or altered fails the check and is refused; it never
// resumes somewhere else.

// cursorMACSize is the length of a cursor's MAC: HMAC-SHA256 truncated to 128 bits.
const cursorMACSize = 16

// MinCursorKeyLen is the shortest cursor key Config.CursorKey and WithCursorKey
// take.
const MinCursorKeyLen = 16

// processCursorKey is the cursor key of a DB that sets none: random, made once per
// process, so cursors survive neither a restart nor a trip to another process.
var processCursorKey = sync.OnceValue(func() []byte {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		// crypto/rand does not fail on supported platforms; without randomness no
		// key can be trusted.
		panic(fmt.Sprintf("orm: reading random bytes for the cursor key: %v", err))
	}
	return k
})

// checkCursorKey refuses a key too short to authenticate cursors; nil is allowed
// (the per-process key).
func checkCursorKey(key []byte) error {
	if key != nil && len(key) < MinCursorKeyLen {
		return fmt.Errorf("%w: cursor key of %d bytes: want at least %d", ErrInvalidValue, len(key), MinCursorKeyLen)
	}
	return nil
}

// cursorMAC returns the MAC of paging state state of statement stmt with values vals
// (each nil, gocql.UnsetValue or encoded).
func (db *DB) cursorMAC(stmt string, vals []any, state []byte) []byte {
	key := db.cursorKey
	if key == nil {
		key = processCursorKey()
	}
	h := hmac.New(sha256.New, key)
	var n [8]byte
	field := func(b []byte) {
		h.Write(binary.BigEndian.AppendUint64(n[:0], uint64(len(b))))
		h.Write(b)
	}
	field([]byte(stmt))
	for _, v := range vals {
		switch v := v.(type) {
		case encoded:
			h.Write([]byte{1})
			field(v.b)
		case nil:
			h.Write([]byte{0})
		default: // UnsetValue
			h.Write([]byte{2})
		}
	}
	field(state)
	return h.Sum(nil)[:cursorMACSize]
}

// encodeCursor returns the cursor of paging state state of a query.
func (db *DB) encodeCursor(stmt string, vals []any, state []byte) string {
	return base64.RawURLEncoding.EncodeToString(append(state[:len(state):len(state)], db.cursorMAC(stmt, vals, state)...))
}

// decodeCursor returns the paging state in cursor, or an error wrapping
// ErrInvalidQuery that names table when the cursor is not one this query made.
func (db *DB) decodeCursor(table, stmt string, vals []any, cursor string) ([]byte, error) {
	// Strict: a cursor with its unused trailing bits changed by hand decodes to the
	// same bytes, and is refused all the same.
	raw, err := base64.RawURLEncoding.Strict().DecodeString(cursor)
	if err != nil || len(raw) <= cursorMACSize {
		return nil, fmt.Errorf("%w: %s: malformed page cursor", ErrInvalidQuery, table)
	}
	state, mac := raw[:len(raw)-cursorMACSize], raw[len(raw)-cursorMACSize:]
	if !hmac.Equal(mac, db.cursorMAC(stmt, vals, state)) {
		return nil, fmt.Errorf("%w: %s: the page cursor does not belong to this query (another query's, altered, or made with another cursor key)", ErrInvalidQuery, table)
	}
	return state, nil
}
