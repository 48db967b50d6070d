// AutomationEngine: Herald's store and rule engine. It owns the SQLite database (through
// GRDB): workspaces and API keys, the event log with its deduplication index, profiles,
// groups, and the automations that run from stored events. It has no HTTP server;
// DestinationServer and the `herald` command use it.
