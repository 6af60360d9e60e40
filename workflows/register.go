package workflows

import (
	"go.temporal.io/sdk/workflow"

	"ai-platform/internal/task"
)

// Registry is the part of a worker that takes workflows.
type Registry interface {
	RegisterWorkflowWithOptions(w interface{}, options workflow.RegisterOptions)
}

// Register registers every workflow under its contract name.
func Register(r Registry) {
	r.RegisterWorkflowWithOptions(TaskWorkflow, workflow.RegisterOptions{Name: task.WorkflowName})
	r.RegisterWorkflowWithOptions(SlotsWorkflow, workflow.RegisterOptions{Name: task.SlotsWorkflowName})
	r.RegisterWorkflowWithOptions(ReviewWorkflow, workflow.RegisterOptions{Name: task.ReviewWorkflowName})
	r.RegisterWorkflowWithOptions(CleanupWorkflow, workflow.RegisterOptions{Name: task.CleanupWorkflowName})
}

// RegisterSlots registers the slots workflow alone, for the worker of its
// own task queue (task.SlotsTaskQueue).
func RegisterSlots(r Registry) {
	r.RegisterWorkflowWithOptions(SlotsWorkflow, workflow.RegisterOptions{Name: task.SlotsWorkflowName})
}
