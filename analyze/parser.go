package analyze

import (
	"fmt"
	"strings"
)

// maxDepth bounds the nesting of terms (collections in collections, calls in calls),
// so that no input exhausts the stack.
const maxDepth = 64

// Parse parses one CQL statement; a trailing ; is allowed. Errors are *ParseError.
func Parse(cql string) (Statement, error) {
	stmts, err := ParseScript(cql)
	if err != nil {
		return nil, err
	}
	switch len(stmts) {
	case 0:
		return nil, &ParseError{Line: 1, Column: 1, Token: "end of input", Msg: "no statement"}
	case 1:
		return stmts[0], nil
	}
	return nil, &ParseError{Line: 1, Column: 1, Token: stmts[1].Kind(), Msg: fmt.Sprintf("%d statements where one was expected", len(stmts))}
}

// ParseScript parses statements separated by ; (a BATCH's inner statements belong
// to the batch). Errors are *ParseError.
func ParseScript(cql string) ([]Statement, error) {
	toks, err := lex(cql)
	if err != nil {
		return nil, err
	}
	p := &parser{src: cql, toks: toks}
	var out []Statement
	for {
		for p.accept(";") {
		}
		if p.peek().kind == tEOF {
			return out, nil
		}
		s, err := p.statement()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
		if t := p.peek(); t.kind != tEOF && !t.is(";") {
			return nil, p.errf(t, "expected ; or the end of the statement")
		}
	}
}

type parser struct {
	src   string
	toks  []token
	i     int
	depth int
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) peekAt(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) errf(t token, format string, args ...any) error {
	return &ParseError{Line: t.line, Column: t.col, Token: t.show(), Msg: fmt.Sprintf(format, args...)}
}

// accept consumes the keyword or symbol kw if it is next.
func (p *parser) accept(kw string) bool {
	if p.peek().is(kw) {
		p.i++
		return true
	}
	return false
}

// acceptSeq consumes the keywords kws if they are all next.
func (p *parser) acceptSeq(kws ...string) bool {
	for i, kw := range kws {
		if !p.peekAt(i).is(kw) {
			return false
		}
	}
	p.i += len(kws)
	return true
}

func (p *parser) expect(kws ...string) error {
	for _, kw := range kws {
		if t := p.peek(); !t.is(kw) {
			return p.errf(t, "expected %s", strings.ToUpper(kw))
		}
		p.i++
	}
	return nil
}

// ident reads a column, table or keyspace name: unquoted names are lower-cased.
func (p *parser) ident(what string) (string, error) {
	t := p.peek()
	switch {
	case t.kind == tQIdent:
		p.i++
		return t.text, nil
	case t.kind == tIdent && !reserved[strings.ToLower(t.text)]:
		p.i++
		return strings.ToLower(t.text), nil
	}
	return "", p.errf(t, "expected %s name", what)
}

func (p *parser) identList(what string) ([]string, error) {
	var out []string
	for {
		n, err := p.ident(what)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
		if !p.accept(",") {
			return out, nil
		}
	}
}

func (p *parser) tableName() (Name, error) {
	a, err := p.ident("table")
	if err != nil {
		return Name{}, err
	}
	if p.accept(".") {
		b, err := p.ident("table")
		if err != nil {
			return Name{}, err
		}
		return Name{Keyspace: a, Table: b}, nil
	}
	return Name{Table: a}, nil
}

// textFrom returns the source from token index start to the current token.
func (p *parser) textFrom(start int) string {
	end := p.toks[p.i-1].end
	if p.i == start {
		end = p.toks[start].off
	}
	return strings.TrimSpace(p.src[p.toks[start].off:end])
}

func (p *parser) statement() (Statement, error) {
	t := p.peek()
	switch {
	case t.is("SELECT"):
		return p.selectStmt()
	case t.is("INSERT"):
		return p.insertStmt()
	case t.is("UPDATE"):
		return p.updateStmt()
	case t.is("DELETE"):
		return p.deleteStmt()
	case t.is("BEGIN"):
		return p.batchStmt()
	case t.is("CREATE"):
		return p.createStmt()
	}
	return nil, p.errf(t, "expected SELECT, INSERT, UPDATE, DELETE, BEGIN BATCH, CREATE TABLE or CREATE INDEX")
}

func (p *parser) selectStmt() (*Select, error) {
	start := p.i
	p.next()
	s := &Select{}
	if p.accept("JSON") {
		s.JSON = true
	}
	if p.accept("DISTINCT") {
		s.Distinct = true
	}
	if p.peek().is("*") {
		p.next()
		s.Star = true
	} else {
		for {
			e, err := p.term()
			if err != nil {
				return nil, err
			}
			sel := Selector{Expr: e}
			if p.accept("AS") {
				if sel.Alias, err = p.ident("alias"); err != nil {
					return nil, err
				}
			}
			s.Selectors = append(s.Selectors, sel)
			if !p.accept(",") {
				break
			}
		}
	}
	if err := p.expect("FROM"); err != nil {
		return nil, err
	}
	var err error
	if s.Table, err = p.tableName(); err != nil {
		return nil, err
	}
	if p.accept("WHERE") {
		if s.Where, err = p.relations(); err != nil {
			return nil, err
		}
	}
	if p.acceptSeq("GROUP", "BY") {
		if s.GroupBy, err = p.identList("column"); err != nil {
			return nil, err
		}
	}
	if p.acceptSeq("ORDER", "BY") {
		for {
			c, err := p.ident("column")
			if err != nil {
				return nil, err
			}
			o := Ordering{Column: c}
			switch {
			case p.acceptSeq("ANN", "OF"):
				v, err := p.term()
				if err != nil {
					return nil, err
				}
				o.ANN = &v
			case p.accept("DESC"):
				o.Desc = true
			default:
				p.accept("ASC")
			}
			s.OrderBy = append(s.OrderBy, o)
			if !p.accept(",") {
				break
			}
		}
	}
	if p.acceptSeq("PER", "PARTITION", "LIMIT") {
		v, err := p.term()
		if err != nil {
			return nil, err
		}
		s.PerPartition = &v
	}
	if p.accept("LIMIT") {
		v, err := p.term()
		if err != nil {
			return nil, err
		}
		s.Limit = &v
	}
	if p.acceptSeq("ALLOW", "FILTERING") {
		s.AllowFiltering = true
	}
	s.text = p.textFrom(start)
	return s, nil
}

// relations parses rel AND rel AND ...
func (p *parser) relations() ([]Relation, error) {
	var out []Relation
	for {
		r, err := p.relation()
		if err != nil {
			return nil, err
		}
		out = append(out, r)
		if !p.accept("AND") {
			return out, nil
		}
	}
}

var comparisons = map[string]bool{"=": true, "<": true, "<=": true, ">": true, ">=": true, "!=": true}

func (p *parser) relation() (Relation, error) {
	t := p.peek()
	r := Relation{Line: t.line, Column: t.col}
	var err error
	switch {
	case t.is("TOKEN") && p.peekAt(1).is("("):
		p.i += 2
		r.Token = true
		if r.Columns, err = p.identList("partition key column"); err != nil {
			return r, err
		}
		if err := p.expect(")"); err != nil {
			return r, err
		}
	case t.is("("):
		p.next()
		r.Tuple = true
		if r.Columns, err = p.identList("clustering column"); err != nil {
			return r, err
		}
		if err := p.expect(")"); err != nil {
			return r, err
		}
	default:
		c, err := p.ident("column")
		if err != nil {
			return r, err
		}
		r.Columns = []string{c}
		switch {
		case p.accept("["):
			k, err := p.term()
			if err != nil {
				return r, err
			}
			r.Key = &k
			if err := p.expect("]"); err != nil {
				return r, err
			}
		case p.peek().is(".") && !p.peekAt(1).is("."):
			p.next()
			if r.Field, err = p.ident("field"); err != nil {
				return r, err
			}
		}
	}
	op := p.peek()
	switch {
	case op.kind == tPunct && comparisons[op.text]:
		p.next()
		r.Op = op.text
	case op.is("IN"):
		p.next()
		r.Op = "IN"
		if p.peek().kind == tMarker || p.peek().kind == tNamed {
			m, _ := p.term()
			r.Values, r.InMarker = []Term{m}, true
			return r, nil
		}
		if err := p.expect("("); err != nil {
			return r, err
		}
		if !p.peek().is(")") {
			if r.Values, err = p.terms(); err != nil {
				return r, err
			}
		}
		return r, p.expect(")")
	case op.is("CONTAINS"):
		p.next()
		r.Op = "CONTAINS"
		if p.accept("KEY") {
			r.Op = "CONTAINS KEY"
		}
	case op.is("LIKE"):
		p.next()
		r.Op = "LIKE"
	case op.is("IS"):
		p.next()
		if err := p.expect("NOT", "NULL"); err != nil {
			return r, err
		}
		r.Op = "IS NOT NULL"
		return r, nil
	default:
		return r, p.errf(op, "expected an operator (=, <, <=, >, >=, !=, IN, CONTAINS, LIKE)")
	}
	v, err := p.term()
	if err != nil {
		return r, err
	}
	r.Values = []Term{v}
	return r, nil
}

func (p *parser) terms() ([]Term, error) {
	var out []Term
	for {
		t, err := p.term()
		if err != nil {
			return nil, err
		}
		out = append(out, t)
		if !p.accept(",") {
			return out, nil
		}
	}
}

// term parses a value: a literal, a marker, a collection, a function call, a column
// name, or a + / - of two of them.
func (p *parser) term() (Term, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return Term{}, p.errf(p.peek(), "terms nested deeper than %d", maxDepth)
	}
	left, err := p.simpleTerm()
	if err != nil {
		return Term{}, err
	}
	for p.peek().is("+") || p.peek().is("-") {
		op := p.next().text
		right, err := p.simpleTerm()
		if err != nil {
			return Term{}, err
		}
		left = Term{Kind: TermBinary, Op: op, Items: []Term{left, right}}
	}
	return left, nil
}

func (p *parser) simpleTerm() (Term, error) {
	t := p.peek()
	switch t.kind {
	case tString:
		p.next()
		return Term{Kind: TermString, Text: t.text}, nil
	case tNumber:
		p.next()
		return Term{Kind: TermNumber, Text: t.text}, nil
	case tUUID:
		p.next()
		return Term{Kind: TermUUID, Text: strings.ToLower(t.text)}, nil
	case tBlob:
		p.next()
		return Term{Kind: TermBlob, Text: strings.ToLower(t.text)}, nil
	case tDuration:
		p.next()
		return Term{Kind: TermDuration, Text: t.text}, nil
	case tMarker:
		p.next()
		return Term{Kind: TermMarker, Text: "?"}, nil
	case tNamed:
		p.next()
		return Term{Kind: TermNamed, Text: t.text}, nil
	case tQIdent:
		p.next()
		return p.afterName(t.text)
	case tIdent:
		low := strings.ToLower(t.text)
		switch low {
		case "true", "false":
			p.next()
			return Term{Kind: TermBool, Text: low}, nil
		case "null":
			p.next()
			return Term{Kind: TermNull, Text: "null"}, nil
		case "nan", "infinity":
			p.next()
			return Term{Kind: TermNumber, Text: t.text}, nil
		case "cast":
			if p.peekAt(1).is("(") {
				p.i += 2
				v, err := p.term()
				if err != nil {
					return Term{}, err
				}
				if err := p.expect("AS"); err != nil {
					return Term{}, err
				}
				typ, err := p.cqlType()
				if err != nil {
					return Term{}, err
				}
				return Term{Kind: TermCast, Text: typ, Items: []Term{v}}, p.expect(")")
			}
		}
		if p.peekAt(1).is("(") {
			p.next()
			return p.call(low)
		}
		if reserved[low] && low != "token" {
			return Term{}, p.errf(t, "expected a value, found the keyword %s", strings.ToUpper(low))
		}
		p.next()
		return p.afterName(low)
	case tPunct:
		switch t.text {
		case "-":
			if n := p.peekAt(1); n.is("NaN") || n.is("Infinity") {
				p.i += 2
				return Term{Kind: TermNumber, Text: "-" + n.text}, nil
			}
		case "[":
			p.next()
			var items []Term
			if !p.peek().is("]") {
				var err error
				if items, err = p.terms(); err != nil {
					return Term{}, err
				}
			}
			return Term{Kind: TermList, Items: items}, p.expect("]")
		case "{":
			return p.braces()
		case "(":
			p.next()
			items, err := p.terms()
			if err != nil {
				return Term{}, err
			}
			if err := p.expect(")"); err != nil {
				return Term{}, err
			}
			return Term{Kind: TermTuple, Items: items}, nil
		}
	}
	return Term{}, p.errf(t, "expected a value")
}

// afterName finishes a column reference: a UDT field access c.f is kept as its text.
func (p *parser) afterName(name string) (Term, error) {
	for p.peek().is(".") {
		p.next()
		f, err := p.ident("field")
		if err != nil {
			return Term{}, err
		}
		name += "." + f
	}
	return Term{Kind: TermColumn, Text: name}, nil
}

// call parses the arguments of a function whose name was read; ( is next.
func (p *parser) call(name string) (Term, error) {
	p.next()
	if p.peek().is(".") {
		return Term{}, p.errf(p.peek(), "unexpected .")
	}
	f := Term{Kind: TermFunc, Text: name}
	if p.accept("*") {
		f.Items = []Term{{Kind: TermStar, Text: "*"}}
		return f, p.expect(")")
	}
	if !p.peek().is(")") {
		var err error
		if f.Items, err = p.terms(); err != nil {
			return Term{}, err
		}
	}
	return f, p.expect(")")
}

// braces parses {a, b} (a set), {k: v} (a map) or {} (an empty map).
func (p *parser) braces() (Term, error) {
	p.next()
	if p.accept("}") {
		return Term{Kind: TermMap}, nil
	}
	first, err := p.term()
	if err != nil {
		return Term{}, err
	}
	if !p.accept(":") {
		items := []Term{first}
		for p.accept(",") {
			t, err := p.term()
			if err != nil {
				return Term{}, err
			}
			items = append(items, t)
		}
		return Term{Kind: TermSet, Items: items}, p.expect("}")
	}
	v, err := p.term()
	if err != nil {
		return Term{}, err
	}
	items := []Term{first, v}
	for p.accept(",") {
		k, err := p.term()
		if err != nil {
			return Term{}, err
		}
		if err := p.expect(":"); err != nil {
			return Term{}, err
		}
		v, err := p.term()
		if err != nil {
			return Term{}, err
		}
		items = append(items, k, v)
	}
	return Term{Kind: TermMap, Items: items}, p.expect("}")
}

// using parses USING TTL t AND TIMESTAMP t; USING is next or not.
func (p *parser) using(u *Using) error {
	if !p.accept("USING") {
		return nil
	}
	for {
		switch t := p.peek(); {
		case t.is("TTL"):
			p.next()
			v, err := p.term()
			if err != nil {
				return err
			}
			u.TTL = &v
		case t.is("TIMESTAMP"):
			p.next()
			v, err := p.term()
			if err != nil {
				return err
			}
			u.Timestamp = &v
		default:
			return p.errf(t, "expected TTL or TIMESTAMP")
		}
		if !p.accept("AND") {
			return nil
		}
	}
}

func (p *parser) insertStmt() (*Insert, error) {
	start := p.i
	p.next()
	if err := p.expect("INTO"); err != nil {
		return nil, err
	}
	s := &Insert{}
	var err error
	if s.Table, err = p.tableName(); err != nil {
		return nil, err
	}
	if p.accept("JSON") {
		v, err := p.term()
		if err != nil {
			return nil, err
		}
		s.JSON = &v
		if p.accept("DEFAULT") {
			if !p.accept("NULL") && !p.accept("UNSET") {
				return nil, p.errf(p.peek(), "expected NULL or UNSET")
			}
		}
	} else {
		if err := p.expect("("); err != nil {
			return nil, err
		}
		if s.Columns, err = p.identList("column"); err != nil {
			return nil, err
		}
		if err := p.expect(")", "VALUES", "("); err != nil {
			return nil, err
		}
		if s.Values, err = p.terms(); err != nil {
			return nil, err
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		if len(s.Values) != len(s.Columns) {
			return nil, p.errf(p.toks[p.i-1], "%d columns but %d values", len(s.Columns), len(s.Values))
		}
	}
	if p.acceptSeq("IF", "NOT", "EXISTS") {
		s.IfNotExists = true
	}
	if err := p.using(&s.Using); err != nil {
		return nil, err
	}
	s.text = p.textFrom(start)
	return s, nil
}

// conditions parses IF EXISTS or IF cond AND cond; IF is next or not.
func (p *parser) conditions() (conds []Relation, exists bool, err error) {
	if !p.accept("IF") {
		return nil, false, nil
	}
	if p.accept("EXISTS") {
		return nil, true, nil
	}
	conds, err = p.relations()
	return conds, false, err
}

func (p *parser) updateStmt() (*Update, error) {
	start := p.i
	p.next()
	s := &Update{}
	var err error
	if s.Table, err = p.tableName(); err != nil {
		return nil, err
	}
	if err := p.using(&s.Using); err != nil {
		return nil, err
	}
	if err := p.expect("SET"); err != nil {
		return nil, err
	}
	for {
		a, err := p.assignment()
		if err != nil {
			return nil, err
		}
		s.Set = append(s.Set, a)
		if !p.accept(",") {
			break
		}
	}
	if err := p.expect("WHERE"); err != nil {
		return nil, err
	}
	if s.Where, err = p.relations(); err != nil {
		return nil, err
	}
	if s.If, s.IfExists, err = p.conditions(); err != nil {
		return nil, err
	}
	s.text = p.textFrom(start)
	return s, nil
}

func (p *parser) assignment() (Assignment, error) {
	var a Assignment
	var err error
	if a.Column, err = p.ident("column"); err != nil {
		return a, err
	}
	switch {
	case p.accept("["):
		k, err := p.term()
		if err != nil {
			return a, err
		}
		a.Key = &k
		if err := p.expect("]"); err != nil {
			return a, err
		}
	case p.accept("."):
		if a.Field, err = p.ident("field"); err != nil {
			return a, err
		}
	}
	switch {
	case p.acceptSeq("+", "="):
		a.Op = AssignAdd
	case p.acceptSeq("-", "="):
		a.Op = AssignRemove
	default:
		if err := p.expect("="); err != nil {
			return a, err
		}
	}
	v, err := p.term()
	if err != nil {
		return a, err
	}
	a.Value = v
	if a.Op == AssignSet && v.Kind == TermBinary && a.Key == nil && a.Field == "" {
		l, r := v.Items[0], v.Items[1]
		switch {
		case l.Kind == TermColumn && l.Text == a.Column && v.Op == "+":
			a.Op, a.Value = AssignAdd, r
		case l.Kind == TermColumn && l.Text == a.Column && v.Op == "-":
			a.Op, a.Value = AssignRemove, r
		case r.Kind == TermColumn && r.Text == a.Column && v.Op == "+":
			a.Op, a.Value = AssignPrepend, l
		}
	}
	return a, nil
}

func (p *parser) deleteStmt() (*Delete, error) {
	start := p.i
	p.next()
	s := &Delete{}
	var err error
	if !p.peek().is("FROM") {
		for {
			var d DeleteTarget
			if d.Column, err = p.ident("column"); err != nil {
				return nil, err
			}
			switch {
			case p.accept("["):
				k, err := p.term()
				if err != nil {
					return nil, err
				}
				d.Key = &k
				if err := p.expect("]"); err != nil {
					return nil, err
				}
			case p.accept("."):
				if d.Field, err = p.ident("field"); err != nil {
					return nil, err
				}
			}
			s.Targets = append(s.Targets, d)
			if !p.accept(",") {
				break
			}
		}
	}
	if err := p.expect("FROM"); err != nil {
		return nil, err
	}
	if s.Table, err = p.tableName(); err != nil {
		return nil, err
	}
	if err := p.using(&s.Using); err != nil {
		return nil, err
	}
	if err := p.expect("WHERE"); err != nil {
		return nil, err
	}
	if s.Where, err = p.relations(); err != nil {
		return nil, err
	}
	if s.If, s.IfExists, err = p.conditions(); err != nil {
		return nil, err
	}
	s.text = p.textFrom(start)
	return s, nil
}

func (p *parser) batchStmt() (*Batch, error) {
	start := p.i
	p.next()
	s := &Batch{Type: "LOGGED"}
	switch {
	case p.accept("UNLOGGED"):
		s.Type = "UNLOGGED"
	case p.accept("COUNTER"):
		s.Type = "COUNTER"
	case p.accept("LOGGED"):
	}
	if err := p.expect("BATCH"); err != nil {
		return nil, err
	}
	if err := p.using(&s.Using); err != nil {
		return nil, err
	}
	for {
		for p.accept(";") {
		}
		t := p.peek()
		if p.acceptSeq("APPLY", "BATCH") {
			break
		}
		var (
			st  Statement
			err error
		)
		switch {
		case t.is("INSERT"):
			st, err = p.insertStmt()
		case t.is("UPDATE"):
			st, err = p.updateStmt()
		case t.is("DELETE"):
			st, err = p.deleteStmt()
		default:
			return nil, p.errf(t, "expected INSERT, UPDATE, DELETE or APPLY BATCH")
		}
		if err != nil {
			return nil, err
		}
		s.Statements = append(s.Statements, st)
	}
	s.text = p.textFrom(start)
	return s, nil
}

func (p *parser) createStmt() (Statement, error) {
	start := p.i
	p.next()
	custom := p.accept("CUSTOM")
	switch {
	case p.accept("INDEX"):
		return p.createIndex(start)
	case !custom && (p.accept("TABLE") || p.accept("COLUMNFAMILY")):
		return p.createTable(start)
	}
	return nil, p.errf(p.peek(), "expected TABLE or INDEX")
}

// cqlType reads a type (text, frozen<map<text, int>>, vector<float, 384>) and returns
// it in the form system_schema writes.
func (p *parser) cqlType() (string, error) {
	t := p.peek()
	if t.kind != tIdent && t.kind != tQIdent {
		return "", p.errf(t, "expected a type")
	}
	p.next()
	name := strings.ToLower(t.text)
	if t.kind == tQIdent {
		name = t.text
	}
	if !p.accept("<") {
		return name, nil
	}
	var args []string
	for {
		if n := p.peek(); n.kind == tNumber {
			p.next()
			args = append(args, n.text)
		} else {
			p.depth++
			if p.depth > maxDepth {
				return "", p.errf(n, "types nested deeper than %d", maxDepth)
			}
			a, err := p.cqlType()
			p.depth--
			if err != nil {
				return "", err
			}
			args = append(args, a)
		}
		if !p.accept(",") {
			break
		}
	}
	if err := p.expect(">"); err != nil {
		return "", err
	}
	return name + "<" + strings.Join(args, ", ") + ">", nil
}

func (p *parser) createTable(start int) (*CreateTable, error) {
	s := &CreateTable{Descending: map[string]bool{}}
	if p.acceptSeq("IF", "NOT", "EXISTS") {
		s.IfNotExists = true
	}
	var err error
	if s.Table, err = p.tableName(); err != nil {
		return nil, err
	}
	if err := p.expect("("); err != nil {
		return nil, err
	}
	for {
		if p.acceptSeq("PRIMARY", "KEY") {
			if len(s.PartitionKey) > 0 {
				return nil, p.errf(p.toks[p.i-1], "a second PRIMARY KEY")
			}
			if err := p.expect("("); err != nil {
				return nil, err
			}
			if p.accept("(") {
				if s.PartitionKey, err = p.identList("partition key column"); err != nil {
					return nil, err
				}
				if err := p.expect(")"); err != nil {
					return nil, err
				}
			} else {
				c, err := p.ident("partition key column")
				if err != nil {
					return nil, err
				}
				s.PartitionKey = []string{c}
			}
			if p.accept(",") {
				if s.Clustering, err = p.identList("clustering column"); err != nil {
					return nil, err
				}
			}
			if err := p.expect(")"); err != nil {
				return nil, err
			}
		} else {
			var c ColumnDef
			if c.Name, err = p.ident("column"); err != nil {
				return nil, err
			}
			if c.Type, err = p.cqlType(); err != nil {
				return nil, err
			}
			if p.accept("STATIC") {
				c.Static = true
			}
			if p.acceptSeq("PRIMARY", "KEY") {
				if len(s.PartitionKey) > 0 {
					return nil, p.errf(p.toks[p.i-1], "a second PRIMARY KEY")
				}
				s.PartitionKey = []string{c.Name}
			}
			s.Columns = append(s.Columns, c)
		}
		if !p.accept(",") {
			break
		}
	}
	if err := p.expect(")"); err != nil {
		return nil, err
	}
	if len(s.PartitionKey) == 0 {
		return nil, p.errf(p.toks[p.i-1], "table %s has no PRIMARY KEY", s.Table)
	}
	if p.accept("WITH") {
		for {
			switch {
			case p.acceptSeq("CLUSTERING", "ORDER", "BY"):
				if err := p.expect("("); err != nil {
					return nil, err
				}
				for {
					c, err := p.ident("clustering column")
					if err != nil {
						return nil, err
					}
					if p.accept("DESC") {
						s.Descending[c] = true
					} else {
						p.accept("ASC")
					}
					if !p.accept(",") {
						break
					}
				}
				if err := p.expect(")"); err != nil {
					return nil, err
				}
			case p.acceptSeq("COMPACT", "STORAGE"):
			default:
				if _, err := p.ident("table option"); err != nil {
					return nil, err
				}
				if err := p.expect("="); err != nil {
					return nil, err
				}
				if _, err := p.term(); err != nil {
					return nil, err
				}
			}
			if !p.accept("AND") {
				break
			}
		}
	}
	s.text = p.textFrom(start)
	return s, nil
}

func (p *parser) createIndex(start int) (*CreateIndex, error) {
	s := &CreateIndex{Options: map[string]string{}}
	if p.acceptSeq("IF", "NOT", "EXISTS") {
		s.IfNotExists = true
	}
	var err error
	if !p.peek().is("ON") {
		if s.Name, err = p.ident("index"); err != nil {
			return nil, err
		}
	}
	if err := p.expect("ON"); err != nil {
		return nil, err
	}
	if s.Table, err = p.tableName(); err != nil {
		return nil, err
	}
	if err := p.expect("("); err != nil {
		return nil, err
	}
	for _, kind := range []string{"keys", "values", "entries", "full"} {
		if p.peek().is(kind) && p.peekAt(1).is("(") {
			p.i += 2
			s.Target = kind
			break
		}
	}
	if s.Column, err = p.ident("column"); err != nil {
		return nil, err
	}
	if s.Target != "" {
		if err := p.expect(")"); err != nil {
			return nil, err
		}
	}
	if err := p.expect(")"); err != nil {
		return nil, err
	}
	if p.accept("USING") {
		t := p.next()
		if t.kind != tString {
			return nil, p.errf(t, "expected the index class as a string")
		}
		s.Using = t.text
	}
	if p.acceptSeq("WITH", "OPTIONS") {
		if err := p.expect("="); err != nil {
			return nil, err
		}
		m, err := p.term()
		if err != nil {
			return nil, err
		}
		if m.Kind != TermMap {
			return nil, p.errf(p.toks[p.i-1], "index OPTIONS must be a map")
		}
		for i := 0; i+1 < len(m.Items); i += 2 {
			s.Options[strings.ToLower(m.Items[i].Text)] = m.Items[i+1].Text
		}
	}
	if s.Name == "" {
		s.Name = s.Table.Table + "_" + s.Column + "_idx"
	}
	s.text = p.textFrom(start)
	return s, nil
}
