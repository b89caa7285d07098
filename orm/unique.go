package orm

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
)

// Unique constraints. A field tagged orm:"unique" (or several tagged
// orm:"unique=group") may hold a value that no other row holds. Cassandra has no such
// constraint, so each one has a lookup table keyed by the value, whose row names the
// owner's primary key and is claimed with INSERT ... IF NOT EXISTS before the row is
// written. Exactly one of any number of concurrent writers of one value wins; the
// others get a *ConflictError with Constraint set. A claim moves on Update and is
// released on Delete. A claim left by a process that died between claiming and
// writing its row is taken over once it is older than StaleClaimAge and the owner row
// does not hold the value.

// StaleClaimAge is how old a unique claim must be before another writer may take it
// over when the owning row does not hold the value (the owner died mid-write).
const StaleClaimAge = time.Minute

const claimedAtCol = "claimed_at"

func ownerCol(c *Column) string { return "owner_" + c.Name }

// lookupTable describes the lookup table of constraint u of table t.
func (u UniqueConstraint) lookupTable(t *Table) *Table {
	lt := &Table{Keyspace: t.Keyspace, Name: u.LookupTable, byName: map[string]*Column{}, Tenant: t.Tenant, scope: t.scope}
	add := func(c *Column) {
		lt.Columns = append(lt.Columns, c)
		lt.byName[c.Name] = c
	}
	for _, c := range u.Columns {
		k := &Column{Name: c.Name, Type: c.Type, Kind: PartitionKey, cql: c.cql}
		add(k)
		lt.PartitionKey = append(lt.PartitionKey, k)
	}
	for _, c := range t.primaryKey() {
		add(&Column{Name: ownerCol(c), Type: c.Type, cql: c.cql})
	}
	add(&Column{Name: claimedAtCol, Type: "timestamp", cql: &cqlType{name: "timestamp"}})
	lt.pk = lt.PartitionKey
	return lt
}

// uniqueStmts are the statements on one constraint's lookup table, built once per
// model.
type uniqueStmts struct {
	claim    string // INSERT ... IF NOT EXISTS
	takeOver string // UPDATE owner ... IF owner = stale owner
	release  string // DELETE ... IF owner = owner
}

// lookupStmts builds the statements of constraint u of a table in keyspace ks.
func lookupStmts(ks string, t *Table, u UniqueConstraint) uniqueStmts {
	lt := qualified(ks, u.LookupTable)
	pk := t.primaryKey()
	valueWhere := make([]string, len(u.Columns))
	cols := make([]string, 0, len(u.Columns)+len(pk)+1)
	if t.Tenant != nil {
		valueWhere = append([]string{quote(t.Tenant.Name) + " = ?"}, valueWhere...)
		cols = append(cols, quote(t.Tenant.Name))
	}
	for i, c := range u.Columns {
		valueWhere[len(valueWhere)-len(u.Columns)+i] = quote(c.Name) + " = ?"
		cols = append(cols, quote(c.Name))
	}
	ownerSet := make([]string, len(pk))
	ownerIf := make([]string, len(pk))
	for i, c := range pk {
		cols = append(cols, quote(ownerCol(c)))
		ownerSet[i] = quote(ownerCol(c)) + " = ?"
		ownerIf[i] = quote(ownerCol(c)) + " = ?"
	}
	cols = append(cols, quote(claimedAtCol))
	where := strings.Join(valueWhere, " AND ")
	owned := " IF " + strings.Join(ownerIf, " AND ")
	return uniqueStmts{
		claim: "INSERT INTO " + lt + " (" + strings.Join(cols, ", ") + ") VALUES (" + markers(len(cols)) + ") IF NOT EXISTS",
		takeOver: "UPDATE " + lt + " SET " + strings.Join(ownerSet, ", ") + ", " + quote(claimedAtCol) + " = ? WHERE " +
			where + owned,
		release: "DELETE FROM " + lt + " WHERE " + where + owned,
	}
}

// maxKeySize is the largest partition key Cassandra stores, in bytes: the limit on a
// unique value, which is its lookup table's partition key.
const maxKeySize = 65535

// checkUniqueSizes refuses a row whose unique value would not fit in the partition key
// of its lookup table: 65535 bytes for one column; for several, each value takes three
// bytes more (its length and an end byte). Only text and blob values can be that long.
func (m *Model[T]) checkUniqueSizes(v reflect.Value) error {
	for _, u := range m.t.Uniques {
		if uniqueValues(v, u) == nil {
			continue // not claimed
		}
		size, names := 0, make([]string, len(u.Columns))
		for i, c := range u.Columns {
			names[i] = c.Name
			fv := fieldValue(v, c)
			if fv.Kind() == reflect.Pointer && !fv.IsNil() {
				fv = fv.Elem()
			}
			n := 0
			if k := fv.Kind(); k == reflect.String || k == reflect.Slice && fv.Type().Elem().Kind() == reflect.Uint8 {
				n = fv.Len()
			}
			if len(u.Columns) > 1 {
				n += 3
			}
			size += n
		}
		if size > maxKeySize {
			return fmt.Errorf("%w: %s: unique constraint %s on %s: the value takes %d bytes, over the %d-byte key limit of lookup table %s",
				ErrInvalidValue, m.t.Name, u.Name, strings.Join(names, ", "), size, maxKeySize, u.LookupTable)
		}
	}
	return nil
}

type claim struct {
	u    UniqueConstraint
	vals []any
}

// uniqueValues returns the values of constraint u in row v, or nil when any is nil or
// zero: an absent value is not claimed.
func uniqueValues(v reflect.Value, u UniqueConstraint) []any {
	vals := make([]any, len(u.Columns))
	for i, c := range u.Columns {
		fv := fieldValue(v, c)
		if fv.IsZero() {
			return nil
		}
		vals[i] = fv.Interface()
	}
	return vals
}

// writeClaimed claims the unique values of row v, runs write, and then releases the
// values the row held before and no longer holds. The claims are given back when the
// write certainly did not apply: a conflict, or any refusal by the server or the driver
// (an invalid TTL, invalid UTF-8, an oversized key, a value that does not marshal).
// After a failure whose outcome is unknown (ErrUncertain: a timeout, a lost
// connection) they stay, since the row may hold them, and are taken over once stale if
// it does not. The write must start within StaleClaimAge/2 of the claims, so that it
// cannot land after another writer took a claim over as stale. nulls says whether the
// write sets nil fields to null (else they are left as stored).
func (m *Model[T]) writeClaimed(ctx context.Context, sc scoped, v reflect.Value, nulls bool, write func(context.Context) error) error {
	if len(m.t.Uniques) == 0 {
		return write(ctx)
	}
	if err := m.checkUniqueSizes(v); err != nil {
		return err
	}
	owner := m.keysOf(v)
	old, err := m.get(ctx, sc, owner, true)
	haveOld := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	claimed, err := m.claimUniques(ctx, sc, v, owner)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, StaleClaimAge/2)
	defer cancel()
	if err := write(wctx); err != nil {
		// Every error of write but ErrUncertain proves that nothing was applied: a
		// conflict, or a refusal by the server or the driver (see outcome).
		if !errors.Is(err, ErrUncertain) {
			m.releaseClaims(ctx, sc, claimed, owner)
		}
		return err
	}
	if haveOld {
		m.releaseUniques(ctx, sc, reflect.ValueOf(&old).Elem(), v, nulls)
	}
	return nil
}

// claimUniques claims every unique value of row v for owner and returns the claims it
// made (not those owner held already). If one fails it gives back the others.
func (m *Model[T]) claimUniques(ctx context.Context, sc scoped, v reflect.Value, owner []any) ([]claim, error) {
	var claimed []claim
	for _, u := range m.t.Uniques {
		vals := uniqueValues(v, u)
		if vals == nil {
			continue
		}
		ok, err := m.claim(ctx, sc, u, vals, owner)
		if err != nil {
			m.releaseClaims(ctx, sc, claimed, owner)
			return nil, err
		}
		if ok {
			claimed = append(claimed, claim{u, vals})
		}
	}
	return claimed, nil
}

// releaseClaims gives back claims. Best effort on a cleanup path: a claim left behind
// is taken over once stale, since its owner row does not hold the value.
func (m *Model[T]) releaseClaims(ctx context.Context, sc scoped, claims []claim, owner []any) {
	for _, c := range claims {
		_ = m.releaseClaim(context.WithoutCancel(ctx), sc, c, owner)
	}
}

// claim takes value vals of constraint u for owner. It reports whether it made a new
// claim (false when owner already held it).
func (m *Model[T]) claim(ctx context.Context, sc scoped, u UniqueConstraint, vals, owner []any) (bool, error) {
	stmts := sc.st.uniqueStmts[u.Name]
	pk := m.t.primaryKey()
	args := append(append(append(sc.lead(nil), vals...), owner...), time.Now())
	cols := append(append(append(sc.leadCols(nil), u.Columns...), pk...), nil)
	cur, applied, err := m.casOwner(ctx, stmts.claim, cols, args)
	if err != nil {
		return false, fmt.Errorf("orm: claim unique %s of %s: %w", u.Name, m.t.Name, err)
	}
	if applied {
		return true, nil
	}
	if reflect.DeepEqual(cur.owner, owner) {
		return false, nil
	}
	conflict := &ConflictError{Table: m.t.Name, Op: "unique", Constraint: u.Name, Key: uniqueKey(u, vals)}
	if time.Since(cur.claimedAt) < StaleClaimAge {
		return false, conflict
	}
	// An old claim: does its owner row still hold the value?
	row, err := m.get(ctx, sc, cur.owner, true)
	if err == nil {
		if reflect.DeepEqual(uniqueValues(reflect.ValueOf(&row).Elem(), u), vals) {
			conflict.Current = &row
			return false, conflict
		}
	} else if !errors.Is(err, ErrNotFound) {
		return false, err
	}
	// Stale: take it over, if nobody else did meanwhile.
	args = append(append(sc.lead(append(append([]any{}, owner...), time.Now())), vals...), cur.owner...)
	cols = append(append(sc.leadCols(append(append([]*Column{}, pk...), nil)), u.Columns...), pk...)
	_, applied, err = m.casOwner(ctx, stmts.takeOver, cols, args)
	if err != nil {
		return false, fmt.Errorf("orm: take over stale unique %s of %s: %w", u.Name, m.t.Name, err)
	}
	if !applied {
		return false, conflict
	}
	return true, nil
}

type ownerRow struct {
	owner     []any
	claimedAt time.Time
}

// casOwner runs a lookup-table LWT and returns the current owner when not applied.
// args[i] is a value of column cols[i] (a unique or key column, whose lookup-table
// twin has its type), bound by the model's one conversion path, or a value bound as
// it is where cols[i] is nil (the tenant column's value, already bound, among them).
func (m *Model[T]) casOwner(ctx context.Context, stmt string, cols []*Column, args []any) (ownerRow, bool, error) {
	var cur ownerRow
	if err := m.db.live(); err != nil {
		return cur, false, err
	}
	bound := make([]any, 0, len(args))
	for i, a := range args {
		if cols[i] == nil {
			bound = append(bound, a)
			continue
		}
		e, err := m.t.encode(cols[i], cols[i].info, a)
		if err != nil {
			return cur, false, err
		}
		bound = append(bound, e)
	}
	var row T
	rv := reflect.ValueOf(&row).Elem()
	byOwner := map[string]*Column{}
	for _, c := range m.t.primaryKey() {
		byOwner[ownerCol(c)] = c
	}
	applied, _, err := m.scanCAS(ctx, "lwt unique", stmt, m.db.session.Query(stmt, bound...), func(name string, dest []any) ([]any, bool) {
		switch {
		case name == claimedAtCol:
			return append(dest, &cur.claimedAt), true
		case byOwner[name] != nil:
			return scanDest(dest, rv, []*Column{byOwner[name]}), true
		}
		return dest, false
	})
	if err != nil {
		return cur, false, err
	}
	if !applied {
		cur.owner = m.keysOf(rv)
	}
	return cur, applied, nil
}

// releaseUniques releases the claims of row old whose values the row no longer holds
// after it was written as cur (all of them when cur is invalid, after a delete). A
// constraint with a nil field in cur was left as stored, unless nulls. Each value is
// released only if the row, read again now, does not hold it: a concurrent write of
// the same row may have put it back. Failures are left for stale take-over.
func (m *Model[T]) releaseUniques(ctx context.Context, sc scoped, old, cur reflect.Value, nulls bool) {
	owner := m.keysOf(old)
	var release []claim
	for _, u := range m.t.Uniques {
		vals := uniqueValues(old, u)
		if vals == nil {
			continue
		}
		if cur.IsValid() && (reflect.DeepEqual(uniqueValues(cur, u), vals) || (!nulls && hasNil(cur, u))) {
			continue
		}
		release = append(release, claim{u, vals})
	}
	if len(release) == 0 {
		return
	}
	now, err := m.get(ctx, sc, owner, true)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return
	default:
		nv := reflect.ValueOf(&now).Elem()
		release = slices.DeleteFunc(release, func(c claim) bool { return reflect.DeepEqual(uniqueValues(nv, c.u), c.vals) })
	}
	for _, c := range release {
		_ = m.releaseClaim(ctx, sc, c, owner)
	}
}

// hasNil reports whether a field of constraint u is a nil pointer, slice or map in v.
func hasNil(v reflect.Value, u UniqueConstraint) bool {
	for _, c := range u.Columns {
		if c.nilable && fieldValue(v, c).IsNil() {
			return true
		}
	}
	return false
}

// releaseClaim deletes the lookup row of a claim if owner still holds it.
func (m *Model[T]) releaseClaim(ctx context.Context, sc scoped, c claim, owner []any) error {
	cols := append(append(sc.leadCols(nil), c.u.Columns...), m.t.primaryKey()...)
	_, _, err := m.casOwner(ctx, sc.st.uniqueStmts[c.u.Name].release, cols, append(append(sc.lead(nil), c.vals...), owner...))
	return err
}
func uniqueKey(u UniqueConstraint, vals []any) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = fmt.Sprintf("%s=%v", u.Columns[i].Name, v)
	}
	return strings.Join(parts, ", ")
}
