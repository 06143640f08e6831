// Package sync is switchboard's domain and engine: messages, conversations,
// channels, the delivery-status order, and the workers that move messages
// between Salesforce and Twilio. It imports only dependency-free leaves
// (sfdc/soql for query text and Salesforce datetimes), never sfdc, twilio,
// config or its own sub-package store: it defines the small interfaces it
// needs (Org, Messenger, Ledger, Parking); sfdc, twilio and sync/store
// implement them, and cmd/switchboard wires them together (README
// "Architecture" has the whole import rule; internal/arch tests it).
//
// The name shadows the standard library's sync on purpose: it is what the
// product does, and the directory layout is the one the project was designed
// with. Inside this package the standard library is imported as gosync;
// packages that import this one name it sbsync.
package sync
