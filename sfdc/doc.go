// Package sfdc is switchboard's Salesforce client: OAuth login for the four
// Connected App grants (auth.go), a REST client with re-authentication,
// retries and limit tracking (client.go), Salesforce datetimes (time.go)
// and the `switchboard setup` logic that creates the PushTopics and
// default External Channels and checks the schema (setup.go). The CometD
// client lives in streaming.go and authenticates through the same *Auth.
// Every SOQL literal goes through the dependency-free sub-package soql.
//
// Wire details follow ../shared/reference/salesforce.md; comments cite its
// sections as "ref §n".
package sfdc
