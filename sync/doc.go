// Package sync is switchboard's domain and engine: messages, conversations,
// channels, the delivery-status order, and the workers that move messages
// between Salesforce and Twilio. It depends on nothing outside the standard
// library but its own sub-package store; sfdc and twilio implement what it
// needs, and cmd/switchboard wires them together.
//
// The name shadows the standard library's sync on purpose: it is what the
// product does, and the directory layout is the one the project was designed
// with. Inside this package the standard library is imported as gosync;
// packages that import this one name it sbsync.
package sync
