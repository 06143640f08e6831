package sfdc

// The permission sets in sfdc/metadata: what each kind of user needs.

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// ---------------------------------------------------------------------------
// Permission sets: what each kind of user needs (SPEC §3, §4).

// integrationWrites are the fields the sidecar writes (SPEC §3).
func integrationWrites(p *mdProject) []string {
	out := []string{"External_Channel__c.Object_API_Name__c", "External_Channel__c.Field_API_Name__c",
		"Task.Description", "Task.WhoId", "Task.WhatId"}
	for _, dir := range []string{"Activity", "Conversation__c", "Opt_In__c", "Switchboard_Status__c"} {
		for name := range p.Objects[dir].Fields {
			out = append(out, sObjectFor(dir)+"."+name)
		}
	}
	sort.Strings(out)
	return out
}

// sidecarOwned are Task fields only the sidecar may set: a user editing
// Message_Sid__c would detach the Task from its Twilio message.
var sidecarOwned = []string{"Task.Message_Sid__c", "Task.Message_Send_Date__c", "Task.Message_Status_Check_Date__c", "Task.Error_Description__c"}

func checkIntegrationPermSet(p *mdProject, ps *mdPermSet) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, ps.Name+": "+fmt.Sprintf(format, args...)) }
	for _, up := range []string{"ApiEnabled", "EditTask"} {
		if !ps.userPermission(up) {
			bad("user permission %s not enabled", up)
		}
	}
	for _, dir := range slices.Sorted(mapKeys(p.Objects)) {
		if p.Objects[dir].Def == nil {
			continue
		}
		if op := ps.object(dir); op == nil || !op.AllowRead || !op.ViewAllRecords {
			bad("%s: needs read and view all (the sidecar reads every record in bulk)", dir)
		}
	}
	for obj, need := range map[string]string{"Conversation__c": "ce", "Opt_In__c": "ce", "External_Channel__c": "c", "PushTopic": "ce", "Switchboard_Status__c": "ce"} {
		op := ps.object(obj)
		if op == nil || (strings.Contains(need, "c") && !op.AllowCreate) || (strings.Contains(need, "e") && !op.AllowEdit) {
			bad("%s: needs %s (SPEC §2/§3)", obj, map[string]string{"ce": "create and edit", "c": "create"}[need])
		}
	}
	// Inbound numbers are matched against every record through the
	// External Channels `setup` creates.
	for _, d := range DefaultExternalChannels() {
		if op := ps.object(d[0]); op == nil || !op.AllowRead || !op.ViewAllRecords {
			bad("%s: needs read and view all to match inbound numbers to records", d[0])
		}
		if fp := ps.field(d[0] + "." + d[1]); fp == nil || !fp.Readable {
			bad("%s.%s: a default External Channel, but not readable", d[0], d[1])
		}
	}
	for _, name := range integrationWrites(p) {
		if fp := ps.field(name); fp == nil || !fp.Editable {
			bad("%s: switchboard writes it, but it is not editable", name)
		}
	}
	out = append(out, checkEveryFieldReadable(p, ps)...)
	return out
}

// adminOnly are objects agents have no use for: the sidecar's heartbeat
// rows are read by the Administration tab (Switchboard_Admin), not by
// people who text.
var adminOnly = []string{"Switchboard_Status__c"}

func checkUserPermSet(p *mdProject, ps *mdPermSet) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, ps.Name+": "+fmt.Sprintf(format, args...)) }
	if !ps.userPermission("EditTask") {
		bad("user permission EditTask not enabled; users create message Tasks")
	}
	for _, dir := range slices.Sorted(mapKeys(p.Objects)) {
		if p.Objects[dir].Def == nil || slices.Contains(adminOnly, dir) {
			continue
		}
		if op := ps.object(dir); op == nil || !op.AllowRead {
			bad("%s: users need read", dir)
		}
	}
	for _, name := range []string{"Task.Message_Type__c", "Task.Message_Status__c", "Task.Conversation__c"} {
		if fp := ps.field(name); fp == nil || !fp.Editable {
			bad("%s: users set it to send or retry a message, but it is not editable", name)
		}
	}
	// The chat composer opens a conversation for a number that has none
	// (switchboardComposer.send) and the chat closes one.
	for _, name := range []string{"Conversation__c.Status__c", "Conversation__c.Channel__c", "Conversation__c.Message_Recipient__c",
		"Conversation__c.Record_Id__c", "Conversation__c.External_Channel__c"} {
		if fp := ps.field(name); fp == nil || !fp.Editable {
			bad("%s: the chat writes it when it opens or closes a conversation, but it is not editable", name)
		}
	}
	for _, name := range sidecarOwned {
		if fp := ps.field(name); fp != nil && fp.Editable {
			bad("%s: only the sidecar may write it, but users can edit it", name)
		}
	}
	// Agents open the Switchboard app's Inbound Messages and Conversations
	// tabs (the Administration tab is Switchboard_Admin's).
	if !slices.ContainsFunc(ps.AppVisibilities, func(a mdAppVisibility) bool {
		return a.Application == "Switchboard" && a.Visible
	}) {
		bad("the Switchboard app is not visible")
	}
	for _, tab := range []string{"Switchboard_Inbox", "Conversation__c"} {
		if !slices.ContainsFunc(ps.TabSettings, func(t mdTabSetting) bool {
			return t.Tab == tab && (t.Visibility == "Visible" || t.Visibility == "DefaultOn")
		}) {
			bad("the %s tab is not visible", tab)
		}
	}
	out = append(out, checkEveryFieldReadable(p, ps, adminOnly...)...)
	return out
}

// adminConfigObjects are the objects the Administration tab writes.
var adminConfigObjects = []string{"Channel_Type__c", "Channel__c", "External_Channel__c", "Message_Template__c",
	"Message_Template_Translation__c"}

func checkAdminPermSet(p *mdProject, ps *mdPermSet) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, ps.Name+": "+fmt.Sprintf(format, args...)) }
	for _, obj := range adminConfigObjects {
		op := ps.object(obj)
		if op == nil || !op.AllowRead || !op.AllowCreate || !op.AllowEdit || !op.AllowDelete {
			bad("%s: admins need read, create, edit and delete", obj)
		}
		if o := p.Objects[obj]; o != nil {
			for _, name := range slices.Sorted(mapKeys(o.Fields)) {
				if f := o.Fields[name]; f.Type == "MasterDetail" || f.Required {
					continue
				}
				if fp := ps.field(obj + "." + name); fp == nil || !fp.Editable {
					bad("%s.%s: admins configure it, but it is not editable", obj, name)
				}
			}
		}
	}
	// SPEC §1a: each sidecar instance upserts its own row; the tab only reads.
	if op := ps.object("Switchboard_Status__c"); op == nil || !op.AllowRead {
		bad("Switchboard_Status__c: the Status section needs read")
	} else if op.AllowCreate || op.AllowEdit || op.AllowDelete {
		bad("Switchboard_Status__c: only the sidecar writes it, but admins may change it")
	}
	if o := p.Objects["Switchboard_Status__c"]; o != nil {
		for _, name := range slices.Sorted(mapKeys(o.Fields)) {
			if fp := ps.field("Switchboard_Status__c." + name); fp == nil || !fp.Readable {
				bad("Switchboard_Status__c.%s: the Status section shows it, but it is not readable", name)
			}
		}
	}
	if !slices.ContainsFunc(ps.AppVisibilities, func(a mdAppVisibility) bool {
		return a.Application == "Switchboard" && a.Visible
	}) {
		bad("the Switchboard app is not visible")
	}
	if !slices.ContainsFunc(ps.TabSettings, func(t mdTabSetting) bool {
		return t.Tab == "Switchboard_Administration" && (t.Visibility == "Visible" || t.Visibility == "DefaultOn")
	}) {
		bad("the Switchboard_Administration tab is not visible")
	}
	return out
}

func checkEveryFieldReadable(p *mdProject, ps *mdPermSet, except ...string) []string {
	var out []string
	for _, dir := range slices.Sorted(mapKeys(p.Objects)) {
		if slices.Contains(except, dir) {
			continue
		}
		for _, name := range slices.Sorted(mapKeys(p.Objects[dir].Fields)) {
			f := p.Objects[dir].Fields[name]
			if f.Type == "MasterDetail" || f.Required {
				continue // readable by everyone who can read the object
			}
			full := sObjectFor(dir) + "." + name
			if fp := ps.field(full); fp == nil || !fp.Readable {
				out = append(out, fmt.Sprintf("%s: %s is not readable", ps.Name, full))
			}
		}
	}
	return out
}
