package eventsourcing

import (
	"encoding/json"
	"fmt"
	"reflect"
)

// Codec encodes event payloads. JSONCodec is the default.
type Codec interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// JSONCodec encodes events as JSON.
type JSONCodec struct{}

// Marshal implements Codec.
func (JSONCodec) Marshal(v any) ([]byte, error) { return json.Marshal(v) }

// Unmarshal implements Codec. Unknown fields are ignored, so adding a field to an
// event needs no upcaster; a payload that is not JSON is an error.
func (JSONCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// Upcaster turns the payload of one schema version into the next version's.
type Upcaster func(data []byte) ([]byte, error)

type registered struct {
	typ       reflect.Type
	version   int
	upcasters map[int]Upcaster // from version -> to version+1
}

// Registry maps event type names to Go types and decodes stored events, upcasting
// payloads of older schema versions. Build it at start-up; after that it is read-only
// and safe for concurrent use.
type Registry struct {
	codec Codec
	types map[string]*registered
}

// NewRegistry returns an empty registry using codec (nil means JSONCodec).
func NewRegistry(codec Codec) *Registry {
	if codec == nil {
		codec = JSONCodec{}
	}
	return &Registry{codec: codec, types: map[string]*registered{}}
}

// Register adds event type E at schema version (1 for a new type). E is a struct type
// whose value implements Event; its EventType names it.
func Register[E Event](r *Registry, schemaVersion int) error {
	var zero E
	name := zero.EventType()
	if name == "" {
		return fmt.Errorf("eventsourcing: %T has an empty EventType", zero)
	}
	if schemaVersion < 1 {
		return fmt.Errorf("eventsourcing: %s: schema version %d: want 1 or more", name, schemaVersion)
	}
	if _, dup := r.types[name]; dup {
		return fmt.Errorf("eventsourcing: event type %s registered twice", name)
	}
	r.types[name] = &registered{typ: reflect.TypeFor[E](), version: schemaVersion, upcasters: map[int]Upcaster{}}
	return nil
}

// Upcast registers fn to turn payloads of eventType at schema version from into
// version from+1. Loading an event stored at version v runs the upcasters v, v+1, ...
// up to the registered version.
func (r *Registry) Upcast(eventType string, from int, fn Upcaster) error {
	t, ok := r.types[eventType]
	if !ok {
		return fmt.Errorf("%w: %s: register it before its upcasters", ErrUnknownEventType, eventType)
	}
	if from < 1 || from >= t.version {
		return fmt.Errorf("eventsourcing: %s: upcaster from version %d: want 1 to %d", eventType, from, t.version-1)
	}
	t.upcasters[from] = fn
	return nil
}

// Encode returns e's type name, schema version and payload.
func (r *Registry) Encode(e Event) (EventData, error) {
	t, ok := r.types[e.EventType()]
	if !ok {
		return EventData{}, fmt.Errorf("%w: %s (%T)", ErrUnknownEventType, e.EventType(), e)
	}
	if reflect.TypeOf(e) != t.typ {
		return EventData{}, fmt.Errorf("eventsourcing: event type %s is registered as %s, got %T", e.EventType(), t.typ, e)
	}
	data, err := r.codec.Marshal(e)
	if err != nil {
		return EventData{}, fmt.Errorf("eventsourcing: encoding %s: %w", e.EventType(), err)
	}
	return EventData{Type: e.EventType(), SchemaVersion: t.version, Data: data}, nil
}

// Decode turns a stored record into its Go event, upcasting older payloads. Errors
// name the stream and version.
func (r *Registry) Decode(rec Record) (Event, error) {
	t, ok := r.types[rec.Type]
	if !ok {
		return nil, fmt.Errorf("%w: %q at stream %s version %d", ErrUnknownEventType, rec.Type, rec.Stream, rec.Version)
	}
	data := rec.Data
	if rec.SchemaVersion > t.version {
		return nil, fmt.Errorf("%w: %s at stream %s version %d has schema version %d, newer than this program's %d",
			ErrCorruptEvent, rec.Type, rec.Stream, rec.Version, rec.SchemaVersion, t.version)
	}
	for v := rec.SchemaVersion; v < t.version; v++ {
		up, ok := t.upcasters[v]
		if !ok {
			return nil, fmt.Errorf("%w: %s at stream %s version %d: no upcaster from schema version %d",
				ErrCorruptEvent, rec.Type, rec.Stream, rec.Version, v)
		}
		var err error
		if data, err = up(data); err != nil {
			return nil, fmt.Errorf("%w: %s at stream %s version %d: upcasting from schema version %d: %v",
				ErrCorruptEvent, rec.Type, rec.Stream, rec.Version, v, err)
		}
	}
	p := reflect.New(t.typ)
	if err := r.codec.Unmarshal(data, p.Interface()); err != nil {
		return nil, fmt.Errorf("%w: %s at stream %s version %d: %v", ErrCorruptEvent, rec.Type, rec.Stream, rec.Version, err)
	}
	return p.Elem().Interface().(Event), nil
}
