package sfdctest

import "net/http"

// bayeuxState is owned by the CometD side of the simulator. (Placeholder
// frame: replaced by the full implementation.)
type bayeuxState struct{ org *Org }

func newBayeuxState(o *Org) *bayeuxState { return &bayeuxState{org: o} }

func (b *bayeuxState) close() {}

// publish delivers a PushTopic notification on channel (e.g.
// "/topic/SwitchboardTasks"), appends it to the replay log and returns its
// replay id. eventType is created, updated, deleted or undeleted; sobject
// holds the fields the PushTopic's query selects.
func (b *bayeuxState) publish(channel, eventType string, sobject map[string]any) int64 { return 0 }

func (o *Org) registerBayeux(mux *http.ServeMux) {}
