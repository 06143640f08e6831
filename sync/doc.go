// Package sync is switchboard's domain and engine: messages, conversations,
// channels, the delivery-status order, and the workers that move messages
// between Salesforce and Twilio. It imports only dependency-free leaves
// (sfdc/soql for query text and Salesforce datetimes, internal/*), never
// sfdc, twilio, config or its own sub-package store: it defines the small
// interfaces it needs (Org, Messenger, Queue with its Ledger and Parking);
// sfdc, twilio and sync/store implement them. NewEngine builds the workers
// and links them; cmd/switchboard fills its options from configuration and
// wires (README "Architecture" has the whole import rule; internal/arch
// tests it).
//
// The name shadows the standard library's sync on purpose: it is what the
// product does, and the directory layout is the one the project was designed
// with. Inside this package the standard library is imported as gosync;
// packages that import this one name it sbsync.
package sync
