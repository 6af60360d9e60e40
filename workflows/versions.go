package workflows

// Change ids of workflow.GetVersion, one per change of workflow logic (see
// README.md). A run recorded before a change replays its old branch; a run
// started after it records the marker and takes the new one.
const (
	// changeRetryResumePoint: a retried run asks the ResumePoint activity
	// where it continues (it started over at research when the API gave it
	// no checkpoint).
	changeRetryResumePoint = "retry-resume-point"
	// changeReviewSplit: a review is the ReviewCritique and ReviewChecks
	// activities instead of the single Review activity.
	changeReviewSplit = "review-split"
	// changeSlotsCapacityFromWorkers: the slots workflow takes its capacity
	// from the workers' announcements (SignalCapacity), no longer from each
	// acquire request.
	changeSlotsCapacityFromWorkers = "slots-capacity-from-workers"
	// changeBudgetGate: an LLM stage stopped by the task's budget waits
	// at the budget gate for a raise (it failed the task before).
	changeBudgetGate = "budget-gate"
	// changePlanApproval: a task with approve_plan waits for its plan to be
	// approved after design.
	changePlanApproval = "plan-approval"
	// changeSearchAttributes: the task workflow upserts its search
	// attributes (package searchattr) as the task moves. Asked once, when a
	// run starts, so a run recorded before it (a task parked across the
	// upgrade) upserts nothing until its next continue-as-new.
	changeSearchAttributes = "search-attributes"
	// changeSlotsParallelGrants: the slots workflow sends a round's grants
	// together and awaits them together, and takes in every delivered
	// signal before granting (one grant at a time, each awaited, before).
	changeSlotsParallelGrants = "slots-parallel-grants"
	// changeSignalPath: the task workflow asks for a slot and runs the
	// clarification gate as local activities (AcquireSlot and Clarify were
	// activities, each a round trip through the server).
	changeSignalPath = "signal-path"
	// changeSlotReply: the task workflow asks for a slot with the slots
	// workflow's UpdateAcquire (AcquireIn.Reply) and starts at once when the
	// reply grants it; it waited for a grant signal, and wrote status
	// queued before asking, every time.
	changeSlotReply = "slot-reply"
	// changeSlotsOwnQueue: the slots workflow runs on its own task queue
	// (task.SlotsTaskQueue). A run on the shared queue, started by an
	// earlier release, continues as new onto it at once.
	changeSlotsOwnQueue = "slots-own-queue"
	// changeBaseline: the task workflow asks once, when a run starts, and a
	// run that records it has every change above without asking for each
	// (taskRun.since). Each first GetVersion of a run is a marker and an
	// upsert of TemporalChangeVersion (a visibility write on the server):
	// three of each before a task parked, five by the time it finished. A
	// run recorded before it finds no marker, so it asks for each change as
	// it did. A change after this one is asked for in every run, as before
	// (or folds into a new baseline).
	changeBaseline = "baseline-1"
)
