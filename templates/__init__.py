"""What a message says: Notify template registry and pure personalisation builders."""
