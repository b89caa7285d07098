package eventsourcing

import (
	"context"
	"strconv"

	"github.com/cassandraorm/cassandraorm-go/cqrs"
)

// Relay returns a projection that publishes every event of the global feed to pub, on
// the topic topicOf picks (events with an empty topic are not published). The feed
// is written ahead of each append, so it is the outbox: an event saved by a process
// that dies before publishing is published when the relay next runs. Delivery is at
// least once; the message ID is the event ID, for consumers to dedupe, and the key is
// the stream. The relay runs InStreamOrder, so each stream's events are published in
// version order whatever the writers' clocks.
func (p *Projector) Relay(name string, pub cqrs.Publisher, topicOf func(Record) string) Projection {
	return p.InStreamOrder(Projection{
		Name: name,
		Handle: func(ctx context.Context, e Envelope) error {
			topic := topicOf(e.Record)
			if topic == "" {
				return nil
			}
			return pub.Publish(ctx, topic, Message(e.Record))
		},
	})
}

// Message turns a stored event into a bus message: ID is the event ID, Key the stream,
// and the metadata carries the stream, version and schema version besides the event's
// own metadata.
func Message(r Record) cqrs.Message {
	md := r.Metadata.toMap()
	md["stream"] = r.Stream
	md["version"] = strconv.FormatInt(r.Version, 10)
	md["schema_version"] = strconv.Itoa(r.SchemaVersion)
	return cqrs.Message{ID: r.ID.String(), Key: r.Stream, Type: r.Type, Payload: r.Data, Metadata: md, Time: r.RecordedAt}
}
