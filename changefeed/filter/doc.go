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
// column's CQL type (orm.Column.Type), once, so that Match compares values of
// one type. Values given to the builders, like the row values given to Match, are
// Go values of the types the ORM maps to the column (docs/orm.md) or pointers to
// them, with a few conveniences; values from JSON are in these forms:
//
//	CQL type                  Go value                          JSON value
//	tinyint smallint int      any integer type, in range        a whole number, in range
//	bigint counter            any integer type                  a whole number, or a string holding one
//	varint                    *big.Int, any integer type        a whole number, or a string holding one
//	float double              float32, float64, or an integer   a number
//	                          that the type holds exactly
//	decimal                   *inf.Dec, any integer type        a number, or a string holding one
//	text varchar ascii        string (ascii: ASCII only)        a string
//	boolean                   bool                              true or false
//	timestamp                 time.Time                         an RFC 3339 string
//	date                      time.Time                         "YYYY-MM-DD", or an RFC 3339 string
//	time                      time.Duration, from 0 up to 24h   "HH:MM:SS", with up to 9 digits of fraction
//	uuid timeuuid             orm.UUID (timeuuid: version 1)    a UUID string
//	duration                  orm.Duration, parts of one sign   a CQL duration such as "1mo2d3h4m5s"
//	inet                      net.IP                            an IP address string
//	blob                      []byte                            a standard base64 string
//	list<T> set<T> map<K, V>  T's, K's or V's values            T's, K's or V's values
//
// The strings for bigint, counter, varint and decimal carry values a JavaScript
// number cannot hold exactly. A whole number may be written 7e4 or 3.0, but 1.5
// is no int and 40000 no smallint. A float value is rounded to float32, as the
// column stores it, so 0.1 matches a float column holding 0.1. A timestamp is
// compared to the millisecond, which is what Cassandra keeps. A date is a calendar
// day: that of a time.Time in its own zone (as the ORM writes it), of an RFC 3339
// string in its own offset. NaN, infinities, a timeuuid other than version 1 and
// null are refused.
//
// The operators that apply:
//
//	$eq $ne $in $nin            every type above but collections
//	$lt $lte $gt $gte           numbers; text, varchar and ascii, by UTF-8 bytes as
//	                            Cassandra orders them; timestamp, date, time; timeuuid,
//	                            by its time, then as Cassandra orders equal times
//	$contains                   an element of a list or set, a value of a map
//	$containsKey                a key of a map
//	$exists                     every column, tuples, user-defined types and vectors too
//
// Booleans, uuids (which Cassandra orders by version first), durations (a month
// has no fixed length), inets and blobs have no order here. A whole collection,
// tuple, user-defined type or vector is not compared, and $contains and
// $containsKey take collections of scalar elements only: a frozen collection as
// a non-frozen one. Bind refuses an operator that does not apply with
// ErrNotApplicable, as in
//
//	filter: table products, column active (boolean): $lt does not apply (the type has no order here)
//
// and a value that does not fit with orm.ErrInvalidValue.
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
