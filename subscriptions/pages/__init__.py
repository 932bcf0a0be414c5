"""The pages messages link to: event pages, confirm and unsubscribe links (one-click included), digests."""
