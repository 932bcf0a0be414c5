"""GOV.UK Notify's own rules, as the real service applies them: API keys and their JWTs, error envelopes, request
schemas, recipients, template rendering and the rate and daily limits. Pure: no I/O."""
