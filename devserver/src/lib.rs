//! mooring-devserver: a Dataverse Web API emulator (OData v4) on loopback.
