// Package filter is the filter language of the change feed's subscriptions: a
// condition on the values of one row of a model's table, built in Go or parsed
// from the JSON form a subscriber sends, checked against the table, and matched
// against a row's values.
//
//	f := filter.And(filter.In("status", "processing", "shipped"), filter.Lt("quantity", 10))
//	f, err := filter.Parse([]byte(`{"status": {"$in": ["processing", "shipped"]}, "quantity": {"$lt": 10}}`))
//	m, err := filter.Bind(f, orders.Table())        // unknown columns, misfit values, operators that do not apply
//	ok, err := m.Match(map[string]any{"status": "shipped", "quantity": int32(3)})
//
// # The JSON form
//
// A filter is a JSON object, MongoDB's query form cut down. Its keys are matched
// together (an implicit $and):
//
//	{"column": value}                      the column equals value ($eq)
//	{"column": {"$op": value, ...}}        every operator holds
//	{"$and": [filter, ...]}                every filter matches
//	{"$or": [filter, ...]}                 at least one filter matches
//	{"$not": filter}                       the filter does not match
//	{}                                     every row matches (the zero Filter)
//
// The operators on a column are $eq, $ne, $lt, $lte, $gt, $gte (a value), $in
// and $nin (an array of values, at most MaxValues), $exists (true or false),
// $contains and $containsKey (a value), and $not, which takes an object of
// operators on the same column: {"quantity": {"$not": {"$lt": 10}}}. So $not
// applies to a column's operators, as in MongoDB, and to a whole filter at the top
// level, which is how Not writes a filter on several columns. $and and $or take
// arrays of filters, wherever a filter's keys may stand. A value is a JSON
// string, number or boolean: an array or an object is no value, and null is
// refused (use $exists). An unknown operator, a key given twice, and input past
// MaxBytes or nested past MaxDepth are refused by Parse.
//
// Beyond MongoDB's, $contains and $containsKey are CQL's CONTAINS and CONTAINS
// KEY, for collections; MongoDB's implicit matching of an array's elements by
// $eq is not done.
//
// # Types
//
// Bind checks every column against the table and converts every value to its
// column's CQL type (orm.Column.Type). Values from the builders are Go values of
// the types the ORM maps to the column, as in docs/orm.md; values from JSON are
// in these forms:
//
//	CQL type                              Go values                  JSON values                   operators
//	tinyint smallint int                  any integer type, in range  a whole number, in range     all
//	bigint counter                        any integer type            a whole number, or a string holding one   all
//	varint                                *big.Int, any integer type  a whole number, or a string holding one   all
//	float double                          float32, float64, or an integer it holds exactly   a number   all
//	decimal                               *inf.Dec, any integer type  a number, or a string holding one         all
//	text varchar ascii                    string (ascii: ASCII only)  a string                     all, ordered by UTF-8 bytes
//	timestamp                             time.Time                   an RFC 3339 string           all, to the millisecond
//	date                                  time.Time (its calendar day in its own zone)   "YYYY-MM-DD", or an RFC 3339 string (its day in its offset)   all
//	time                                  time.Duration (0 to 24h)    "HH:MM:SS[.fffffffff]"       all
//	timeuuid                              orm.UUID (version 1)        a UUID string                all, ordered by time as Cassandra orders them
//	uuid                                  orm.UUID                    a UUID string                $eq $ne $in $nin $exists
//	boolean                               bool                        true, false                  $eq $ne $in $nin $exists
//	duration                              orm.Duration                a CQL duration: "1mo2d3h"    $eq $ne $in $nin $exists
//	inet                                  net.IP                      an IP address string         $eq $ne $in $nin $exists
//	blob                                  []byte                      a standard base64 string     $eq $ne $in $nin $exists
//	list<T> set<T> (frozen or not)        T's values                  T's values                   $contains (an element), $exists
//	map<K, V> (frozen or not)             K's or V's values           K's or V's values            $containsKey (a key), $contains (a value), $exists
//	tuple, user-defined type, vector      -                           -                            $exists
//
// Types without an order here: booleans; uuids, which Cassandra orders by version
// first; durations, since a month has no fixed length; inets and blobs. A whole
// collection, tuple, user-defined type or vector is not compared, and $contains
// takes collections of scalar elements only. Bind refuses an operator that does
// not apply (ErrNotApplicable), such as
//
//	filter: table products, column active (boolean): $lt does not apply (the type has no order here)
//
// and a value that does not fit (orm.ErrInvalidValue): a wrong type, 1.5 for an
// int, 40000 for a smallint, a version 4 UUID for a timeuuid, NaN.
//
// # Null and missing
//
// Match takes the row's values by column name. A column absent from the map is
// missing; a nil value (or nil pointer, slice or map), an empty non-frozen
// collection (Cassandra keeps none), and outside the primary key the zero
// time.Time and the zero orm.UUID (which the ORM writes as unset and reads a null
// as) are null. Missing and null are one: the column has no value. $exists false
// matches it and $exists true does not (unlike MongoDB, where $exists true
// matches a null: in Cassandra a null cell is no cell). $ne and $nin, being Not
// of $eq and $in, match it, as in MongoDB; every other comparison does not.
//
// # Which values Match needs
//
// Matcher.Columns lists the columns a filter reads. A change record holds the
// columns its write set; a filter on a column the write did not touch must be
// matched against the row as it is after the change, which the caller reads,
// and Columns is what tells which case holds.
//
// Filters and Matchers are immutable and safe for concurrent use.
package filter
