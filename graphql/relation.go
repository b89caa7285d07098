package graphql

import (
	"context"
	"fmt"
	"reflect"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/vektah/gqlparser/v2/ast"
)

// relation is a field of one model's type holding the row of another model that
// a column of the first names.
type relation struct {
	from, to *model
	field    string
	column   *orm.Column
	load     func(ctx context.Context, keys []any) ([]reflect.Value, error)
}

// Relate declares a field named field on From's type that holds the To row whose
// primary key (a single partition key column, no clustering) equals From's column.
// Lookups are batched per request: every such field at one level of the response
// is loaded together, at most Config.BatchSize keys per read, each read one IN on
// To's partition key. Both models must be added first; call Relate before Build.
func Relate[From, To any](s *Schema, field string, to *orm.Model[To], column string) error {
	if s.built.Load() {
		return fmt.Errorf("graphql: Relate %s after Build", field)
	}
	var fm, tm *model
	for _, m := range s.models {
		switch m.goType {
		case reflect.TypeFor[From]():
			fm = m
		case reflect.TypeFor[To]():
			tm = m
		}
	}
	if fm == nil || tm == nil {
		return fmt.Errorf("graphql: Relate %s: add models %s and %s first", field, reflect.TypeFor[From](), reflect.TypeFor[To]())
	}
	t := to.Table()
	if len(t.PartitionKey) != 1 || len(t.Clustering) != 0 {
		return fmt.Errorf("graphql: Relate %s: table %s must have a one-column primary key", field, t.Name)
	}
	col := fm.table.Column(column)
	if col == nil {
		return fmt.Errorf("graphql: Relate %s: table %s has no column %q", field, fm.table.Name, column)
	}
	if t.Column(field) != nil || fm.table.Column(field) != nil {
		return fmt.Errorf("graphql: Relate %s: the name is a column of %s", field, fm.table.Name)
	}
	s.relations = append(s.relations, &relation{from: fm, to: tm, field: field, column: col, load: tm.byKeys})
	return nil
}

// lazy is a related row not yet loaded.
type lazy struct {
	rel  *relation
	key  any
	done bool
	val  any
}

// work is what one level of a response still needs: related rows, and computed
// fields by field and selection.
type work struct {
	lazies map[*relation][]*lazy
	calls  map[callKey][]*call
}

type callKey struct {
	cf  *customField
	sel *ast.Field
}

// pending gathers the unloaded related rows and unresolved computed fields the
// selection set reaches in v.
func (e *executor) pending(v any, set ast.SelectionSet, w *work) {
	switch x := v.(type) {
	case []any:
		for _, item := range x {
			e.pending(item, set, w)
		}
	case *lazy:
		if x.done {
			e.pending(x.val, set, w)
		} else {
			w.lazies[x.rel] = append(w.lazies[x.rel], x)
		}
	case map[string]any:
		typeName, _ := x[typenameKey].(string)
		for _, f := range e.collect(set, typeName) {
			c, ok := x[f.Name].(*call)
			if !ok {
				e.pending(x[f.Name], f.SelectionSet, w)
				continue
			}
			if r, done := c.results[f]; done {
				e.pending(r, f.SelectionSet, w)
			} else {
				k := callKey{c.cf, f}
				w.calls[k] = append(w.calls[k], c)
			}
		}
	}
}

// loadAll loads the related rows and computed fields v needs, level by level:
// each level's keys of one relation are read together, in batches of
// Config.BatchSize, and each computed field's resolver runs once per level and
// selection for all its parents.
func (e *executor) loadAll(ctx context.Context, v any, set ast.SelectionSet) error {
	for {
		w := &work{lazies: map[*relation][]*lazy{}, calls: map[callKey][]*call{}}
		e.pending(v, set, w)
		if len(w.lazies) == 0 && len(w.calls) == 0 {
			return nil
		}
		for k, cs := range w.calls {
			parents := make([]reflect.Value, len(cs))
			for i, c := range cs {
				parents[i] = c.parent
			}
			rs, err := k.cf.resolve(ctx, parents, k.sel.ArgumentMap(e.vars))
			if err != nil {
				return fmt.Errorf("graphql: resolving %s.%s: %w", k.cf.on.name, k.cf.name, err)
			}
			for i, c := range cs {
				c.results[k.sel] = k.cf.conv(rs[i])
			}
		}
		for rel, ls := range w.lazies {
			cache := e.cache[rel]
			if cache == nil {
				cache = map[string]any{}
				e.cache[rel] = cache
			}
			var keys []any
			for _, l := range ls {
				k := fmt.Sprint(l.key)
				if _, ok := cache[k]; !ok {
					cache[k] = nil
					keys = append(keys, l.key)
				}
			}
			for len(keys) > 0 {
				n := min(len(keys), e.s.cfg.BatchSize)
				rows, err := rel.load(ctx, keys[:n])
				if err != nil {
					return fmt.Errorf("graphql: loading %s.%s: %w", rel.from.name, rel.field, err)
				}
				pk := rel.to.table.PartitionKey[0]
				for _, r := range rows {
					cache[fmt.Sprint(r.FieldByName(pk.Field).Interface())] = rel.to.row(e.s, r)
				}
				keys = keys[n:]
			}
			for _, l := range ls {
				l.val, l.done = cache[fmt.Sprint(l.key)], true
			}
		}
	}
}
