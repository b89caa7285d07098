package kafka

import (
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cassandraorm/cassandraorm-go/cqrs"
)

// The record headers that carry the fields of a cqrs.Message other than
// Key (the record key), Payload (the value) and Topic; every other header
// is a Metadata entry. Metadata keys with the reserved prefix are refused,
// except the cqrs.MetaPoison entries of a poisoned message.
const (
	reservedPrefix = "cqrs-"
	headerID       = reservedPrefix + "id"
	headerType     = reservedPrefix + "type"
	headerTime     = reservedPrefix + "time" // RFC 3339 with nanoseconds
)

// isPoisonKey reports the metadata keys with the reserved prefix that
// encode accepts: those of cqrs.Poisoned.
func isPoisonKey(k string) bool {
	switch k {
	case cqrs.MetaPoisonTopic, cqrs.MetaPoisonGroup, cqrs.MetaPoisonDeliveries, cqrs.MetaPoisonError:
		return true
	}
	return false
}

// encode turns a stamped message into a record, refusing metadata keys
// with the reserved prefix other than those of cqrs.Poisoned.
func encode(m cqrs.Message) (*kgo.Record, error) {
	for k := range m.Metadata {
		if strings.HasPrefix(k, reservedPrefix) && !isPoisonKey(k) {
			return nil, fmt.Errorf("kafka: message %s: metadata key %q: the prefix %q is reserved", m.ID, k, reservedPrefix)
		}
	}
	return record(m), nil
}

// record turns a stamped message into a record, whatever its metadata
// keys. The record's timestamp is the message time, to the millisecond;
// the header keeps the nanoseconds.
func record(m cqrs.Message) *kgo.Record {
	r := &kgo.Record{
		Topic:     m.Topic,
		Value:     m.Payload,
		Timestamp: m.Time,
		Headers:   make([]kgo.RecordHeader, 0, 3+len(m.Metadata)),
	}
	if m.Key != "" {
		r.Key = []byte(m.Key)
	}
	r.Headers = append(r.Headers,
		kgo.RecordHeader{Key: headerID, Value: []byte(m.ID)},
		kgo.RecordHeader{Key: headerType, Value: []byte(m.Type)},
		kgo.RecordHeader{Key: headerTime, Value: m.Time.AppendFormat(nil, time.RFC3339Nano)},
	)
	for k, v := range m.Metadata {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: k, Value: []byte(v)})
	}
	return r
}

// decode turns a record into a message. Records that another producer
// wrote without the cqrs headers get the id "topic/partition/offset",
// which is stable across redeliveries, and the record's timestamp.
func decode(r *kgo.Record) cqrs.Message {
	m := cqrs.Message{Topic: r.Topic, Key: string(r.Key), Payload: r.Value, Time: r.Timestamp}
	for _, h := range r.Headers {
		switch h.Key {
		case headerID:
			m.ID = string(h.Value)
		case headerType:
			m.Type = string(h.Value)
		case headerTime:
			if t, err := time.Parse(time.RFC3339Nano, string(h.Value)); err == nil {
				m.Time = t
			}
		default:
			if m.Metadata == nil {
				m.Metadata = make(map[string]string)
			}
			m.Metadata[h.Key] = string(h.Value)
		}
	}
	if m.ID == "" {
		m.ID = fmt.Sprintf("%s/%d/%d", r.Topic, r.Partition, r.Offset)
	}
	return m
}
