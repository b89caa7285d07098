package cqrs

import (
	"errors"
	"fmt"
	"strconv"
)

// ErrPoison marks a handler error that no redelivery can cure: a message
// that cannot be decoded, refers to what can never exist, or breaks an
// invariant. A handler error that wraps it (see Permanent) poisons the
// message at once, without the redeliveries that other errors get.
var ErrPoison = errors.New("cqrs: poison message")

// Permanent returns an error wrapping both err and ErrPoison, for a
// Handler to say that its message is poison: it moves to the poison topic
// at once instead of being delivered again. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrPoison, err)
}

// The metadata entries that a transport adds to a message it moves to a
// poison topic (see Poisoned). They use the prefix that the Kafka transport
// reserves; it accepts these keys on Publish, so that a poisoned message
// can be published again, as it is, once its cause is fixed.
const (
	// MetaPoisonTopic is the topic the message was published to.
	MetaPoisonTopic = "cqrs-poison-topic"
	// MetaPoisonGroup is the consumer group that could not handle it.
	MetaPoisonGroup = "cqrs-poison-group"
	// MetaPoisonDeliveries is how many times in a row the group's handler
	// was called for it, in decimal.
	MetaPoisonDeliveries = "cqrs-poison-deliveries"
	// MetaPoisonError is the text of the last handler error.
	MetaPoisonError = "cqrs-poison-error"
)

// DefaultPoisonTopic is the poison topic of both transports unless
// configured otherwise: topic + ".poison", whatever the group.
func DefaultPoisonTopic(topic, group string) string { return topic + ".poison" }

// Poisoned returns the copy of m that a transport publishes to the poison
// topic once the handler of group failed on m deliveries times, the last
// time with err (or returned an error wrapping ErrPoison): the same ID,
// Key, Type, Payload and Time, and Metadata with the MetaPoison entries
// added. m is as delivered, its Topic the topic it came from. Transports
// call it so that all of them describe a poisoned message the same way.
//
// The message keeps its ID: when two groups poison the same message, the
// poison topic holds a copy from each, told apart by MetaPoisonGroup.
func Poisoned(m Message, group string, deliveries int, err error) Message {
	m = m.Clone()
	if m.Metadata == nil {
		m.Metadata = make(map[string]string, 4)
	}
	m.Metadata[MetaPoisonTopic] = m.Topic
	m.Metadata[MetaPoisonGroup] = group
	m.Metadata[MetaPoisonDeliveries] = strconv.Itoa(deliveries)
	m.Metadata[MetaPoisonError] = err.Error()
	return m
}
