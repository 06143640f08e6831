package sfdctest

// Session returns a new access token of the org, as a user logged in to
// the org in a browser holds one: the Lightning runtime sends it with the
// components' UI API, GraphQL and CometD calls. The demo's same-origin
// proxy (sfdc/metadata/browser.OrgProxy) uses it so the page never sees
// the OAuth endpoint. RevokeTokens ends it like any other token.
func (o *Org) Session() string { return o.tokens.issue() }
