// DestinationServer: the Hummingbird 2 application that receives Segment traffic.
// `buildApplication(_:)` assembles ingest endpoints, authentication, health and metrics
// over an AutomationEngine store; the `herald serve` command runs it.
