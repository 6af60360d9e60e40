// Package searchattr defines the custom search attributes of task workflows,
// so that operators can find tasks in the Temporal Web UI or with
// `temporal workflow list --query`: every task parked in needs_input for more
// than a day, every failed task of one tenant, every task of a template.
//
// The API sets them when it starts a task (a task is findable from its first
// second) and the workflow upserts them as the task moves. They must be
// registered on the namespace before either happens: every platform process
// makes sure of that at start-up (internal/app), and the compose set-up job
// registers the same list (temporal-config/scripts/create-namespace.sh; a
// test keeps the two in step).
//
// The package is used from workflow code, so it stays deterministic: no
// clock, no I/O.
package searchattr

import (
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"

	"ai-platform/internal/task"
)

// Attribute names, as queries and the Web UI spell them.
const (
	NameStatus       = "TaskStatus"
	NameStage        = "TaskStage"
	NameTemplate     = "TaskTemplate"
	NameTenant       = "TenantHash"
	NameWaitingSince = "WaitingSince"
)

// The typed keys. They are values (a name and a type), never assigned to.
var (
	// Status is the task's status, the contract's strings (queued,
	// processing, needs_input, paused, completed, failed, cancelled).
	Status = temporal.NewSearchAttributeKeyKeyword(NameStatus)
	// Stage is the task's current stage (task.Stage* names). A task that
	// ended keeps the stage it ended in, so `TaskStatus = 'failed' AND
	// TaskStage = 'review'` finds the tasks whose final review failed.
	Stage = temporal.NewSearchAttributeKeyKeyword(NameStage)
	// Template is the task's template id; unset for a task without one.
	Template = temporal.NewSearchAttributeKeyKeyword(NameTemplate)
	// Tenant is TenantHash of the task's owner.
	Tenant = temporal.NewSearchAttributeKeyKeyword(NameTenant)
	// WaitingSince is when the task asked the questions it waits for; set
	// while the task is in needs_input, unset otherwise.
	WaitingSince = temporal.NewSearchAttributeKeyTime(NameWaitingSince)
)

// Definition is one attribute as it is registered on the namespace.
type Definition struct {
	Name string
	Type enumspb.IndexedValueType
}

// Definitions lists every attribute the platform uses. A server on
// PostgreSQL or SQLite offers a limited number of custom attributes per type
// (10 Keyword and 3 Datetime on server 1.31); these take 4 and 1.
func Definitions() []Definition {
	return []Definition{
		{NameStatus, enumspb.INDEXED_VALUE_TYPE_KEYWORD},
		{NameStage, enumspb.INDEXED_VALUE_TYPE_KEYWORD},
		{NameTemplate, enumspb.INDEXED_VALUE_TYPE_KEYWORD},
		{NameTenant, enumspb.INDEXED_VALUE_TYPE_KEYWORD},
		{NameWaitingSince, enumspb.INDEXED_VALUE_TYPE_DATETIME},
	}
}

// tenantHashLen is the length of a TenantHash: the prefix of the owner key
// that /ops/status shows as key_hash, so an operator can take one from there
// to the Web UI.
const tenantHashLen = 12

// TenantHash is how a task's owner appears in Temporal: a prefix of the
// owner key (the hex HMAC of the API key or user id under
// API_KEY_HASH_SECRET that the store keeps as owner_key_hash). Neither the
// key, nor an e-mail address, nor a user id ever reaches Temporal this way.
func TenantHash(ownerKey string) string {
	return ownerKey[:min(tenantHashLen, len(ownerKey))]
}

// Values are one task's attribute values; an empty string or a zero time
// leaves its attribute unset.
type Values struct {
	Status       task.Status
	Stage        string
	Template     string
	Tenant       string
	WaitingSince time.Time
}

// Initial are the values of a task that has just been created (or retried):
// queued, initializing. The workflow starts from the same state, so the
// values the API sets need no upsert.
func Initial(templateID, ownerKey string) Values {
	return Values{Status: task.StatusQueued, Stage: task.StageInitializing, Template: templateID,
		Tenant: TenantHash(ownerKey)}
}

// Attributes are the values that are set, for StartWorkflowOptions.
func (v Values) Attributes() temporal.SearchAttributes {
	return temporal.NewSearchAttributes(v.Changes(temporal.NewSearchAttributes())...)
}

// Changes are the updates that bring cur to v: a value that differs is set,
// one that v leaves empty is unset, an equal one is left alone (each upsert
// is a command in the workflow's history). The order is fixed, so a
// workflow issues the same command on replay.
func (v Values) Changes(cur temporal.SearchAttributes) []temporal.SearchAttributeUpdate {
	var out []temporal.SearchAttributeUpdate
	keyword := func(k temporal.SearchAttributeKeyKeyword, want string) {
		have, ok := cur.GetKeyword(k)
		switch {
		case want == "" && ok:
			out = append(out, k.ValueUnset())
		case want != "" && (!ok || have != want):
			out = append(out, k.ValueSet(want))
		}
	}
	keyword(Status, string(v.Status))
	keyword(Stage, v.Stage)
	keyword(Template, v.Template)
	keyword(Tenant, v.Tenant)
	have, ok := cur.GetTime(WaitingSince)
	switch {
	case v.WaitingSince.IsZero() && ok:
		out = append(out, WaitingSince.ValueUnset())
	case !v.WaitingSince.IsZero() && (!ok || !have.Equal(v.WaitingSince)):
		out = append(out, WaitingSince.ValueSet(v.WaitingSince))
	}
	return out
}
