package cqrs

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"maps"
	"time"
)

// Message is the unit carried by the event bus: one event, addressed to a
// topic, ordered by its key.
//
// Delivery is at least once, so consumers must be idempotent: they dedupe by
// ID. Messages that share a Key are delivered to each consumer group in the
// order they were published.
type Message struct {
	// ID identifies the message uniquely; consumers dedupe by it. Publish
	// fills an empty ID with NewID().
	ID string
	// Topic is set by Publish and on delivery; a value given to Publish is
	// overwritten with the topic published to.
	Topic string
	// Key orders and partitions the messages (an aggregate id, say):
	// messages with the same key reach each group in publish order. An empty
	// key gives no ordering.
	Key string
	// Type names the event, e.g. "order.placed".
	Type string
	// Payload is the encoded event; the bus never looks inside.
	Payload []byte
	// Metadata carries context across services: correlation_id,
	// causation_id, tenant, actor, ...
	Metadata map[string]string
	// Time is when the event happened. Publish fills a zero Time with the
	// current time.
	Time time.Time
}

// Clone returns a deep copy of m: its Payload and Metadata share no memory
// with m's. Transports hand each delivery its own copy so that a handler
// may keep or modify what it was given.
func (m Message) Clone() Message {
	m.Payload = bytes.Clone(m.Payload)
	m.Metadata = maps.Clone(m.Metadata)
	return m
}

// NewID returns a new random message id: a version 7 UUID, whose text sorts
// by creation time to the millisecond.
func NewID() string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // crypto/rand.Read never fails
	ms := uint64(time.Now().UnixMilli())
	for i := range 6 {
		u[i] = byte(ms >> (40 - 8*i))
	}
	u[6] = u[6]&0x0f | 0x70 // version 7
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	var s [36]byte
	hex.Encode(s[0:8], u[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], u[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], u[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], u[8:10])
	s[23] = '-'
	hex.Encode(s[24:], u[10:])
	return string(s[:])
}

// Stamp prepares a message for publishing to topic: it sets Topic, fills
// an empty ID with NewID() and a zero Time with the current time, and
// copies Payload and Metadata. Prepare calls it on every message given to
// Publish so that all transports fill the same fields the same way;
// transports call it directly only for the messages they move to a poison
// topic (see Poisoned), which keep their metadata as it is.
func Stamp(topic string, m Message) Message {
	m = m.Clone()
	m.Topic = topic
	if m.ID == "" {
		m.ID = NewID()
	}
	if m.Time.IsZero() {
		m.Time = time.Now()
	}
	return m
}
