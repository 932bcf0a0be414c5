"""A GOV.UK Notify-compatible simulator, faithful to the real API's behaviour (see docs/notify-simulator.md)."""
