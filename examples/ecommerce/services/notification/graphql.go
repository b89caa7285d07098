package notification

import (
	"context"
	"fmt"

	"github.com/cassandraorm/cassandraorm-go/graphql"
)

// Subgraph returns the notification service's GraphQL API, an Apollo
// Federation v2 subgraph (package graphql) built with cfg's limits: type
// Notification @key(fields: "notification_id"), read only (notifications
// are made through Notify), with the queries notification(notification_id:
// String!) and notificationsForUser(user_id: String!, limit: Int = 20), the
// user's latest, newest first (ForUser), and Notification.user (User by
// user_id; null for a notification to the administrators). Deliveries are
// not in it.
func (s *Service) Subgraph(cfg graphql.Config) (*graphql.Schema, error) {
	g, err := graphql.New(cfg)
	if err != nil {
		return nil, err
	}
	for _, err := range []error{
		graphql.Add(g, s.notes, graphql.ReadOnly()),
		graphql.Reference[Notification](g, "user", "User", map[string]string{"user_id": "user_id"}),
		graphql.AddQuery(g, "notificationsForUser", "user_id: String!, limit: Int = 20",
			func(ctx context.Context, args map[string]any) ([]Notification, error) {
				limit := args["limit"].(int64)
				if limit < 1 || limit > MaxList {
					return nil, fmt.Errorf("%w: limit %d: want 1 to %d", ErrInvalid, limit, MaxList)
				}
				rs, err := s.ForUser(ctx, args["user_id"].(string), int(limit))
				out := make([]Notification, len(rs))
				for i, r := range rs {
					out[i] = r.Notification
				}
				return out, err
			}),
	} {
		if err != nil {
			return nil, fmt.Errorf("notification: subgraph: %w", err)
		}
	}
	if err := g.Build(); err != nil {
		return nil, fmt.Errorf("notification: subgraph: %w", err)
	}
	return g, nil
}
