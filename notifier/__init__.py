"""Tell Me's shell and delivery core: settings, CLI, web app, database, Notify sender and simulator."""
