package cache

import (
	"encoding/json"
	"fmt"
)

// Codec turns values into the bytes the tiers keep and back. It must be safe
// for concurrent use.
type Codec interface {
	// Marshal encodes v.
	Marshal(v any) ([]byte, error)
	// Unmarshal decodes data into the value v points to.
	Unmarshal(data []byte, v any) error
}

// JSON is the default Codec: encoding/json.
type JSON struct{}

// Marshal is json.Marshal.
func (JSON) Marshal(v any) ([]byte, error) { return json.Marshal(v) }

// Unmarshal is json.Unmarshal.
func (JSON) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// Raw is a Codec for []byte and string values, kept as they are (a []byte
// Unmarshals into a copy).
type Raw struct{}

// Marshal returns v's bytes; v must be a []byte or a string.
func (Raw) Marshal(v any) ([]byte, error) {
	switch v := v.(type) {
	case []byte:
		return v, nil
	case string:
		return []byte(v), nil
	}
	return nil, fmt.Errorf("cache: Raw codec: cannot marshal a %T (want []byte or string)", v)
}

// Unmarshal sets the *[]byte or *string v to data.
func (Raw) Unmarshal(data []byte, v any) error {
	switch v := v.(type) {
	case *[]byte:
		*v = append([]byte(nil), data...)
		return nil
	case *string:
		*v = string(data)
		return nil
	}
	return fmt.Errorf("cache: Raw codec: cannot unmarshal into a %T (want *[]byte or *string)", v)
}
