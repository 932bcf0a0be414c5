"""Who wants what: contact points, subscriptions, matching and the resident journey."""
