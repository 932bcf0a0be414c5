"""Where news comes from: the Event model, feed adapters, push endpoints."""
