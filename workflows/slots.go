package workflows

import (
	"errors"
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"

	"ai-platform/internal/task"
)

// SlotsState is the semaphore's state; it is also its continue-as-new input.
type SlotsState struct {
	Capacity int `json:"capacity"`
	// CapacityStartedAt is the start time of the worker whose
	// MAX_CONCURRENT_TASKS Capacity is; an announcement from a worker started
	// earlier does not change it.
	CapacityStartedAt time.Time     `json:"capacity_started_at,omitzero"`
	Holders           []SlotHolder  `json:"holders"`
	Waiters           []SlotRequest `json:"waiters"`
	// Regrants are holders that asked again and must hear "granted" again.
	Regrants []SlotRequest `json:"regrants,omitempty"`
	// CheckEvery overrides how often holders are checked for liveness (tests).
	CheckEvery time.Duration `json:"check_every,omitempty"`
	// HandledLimit overrides the signal count that forces continue-as-new.
	HandledLimit int `json:"handled_limit,omitempty"`
}

// SlotHolder is a task workflow that holds a slot.
type SlotHolder struct {
	WorkflowID string    `json:"workflow_id"`
	Token      string    `json:"token"`
	Since      time.Time `json:"since"`
}

// SlotRequest is a task waiting for a slot, in arrival order.
type SlotRequest = task.SlotRequest

const (
	defaultHolderCheck  = time.Minute
	defaultHandledLimit = 2000
	// parallelHandledLimit is the run length of a run with parallel grants:
	// a worker whose cache evicted the slots workflow rebuilds it from its
	// history at the next signal, so a burst of resumes must not replay
	// thousands of signals per grant. A few hundred signals keep a rebuild
	// to milliseconds; continue-as-new carries only holders and waiters.
	parallelHandledLimit = 500
)

// SlotsWorkflow is a FIFO counting semaphore: at most Capacity task workflows
// hold a slot (and so are "processing") at once, across all workers. Tasks
// ask with signal-with-start (the AcquireSlot activity), are granted by a
// signal back, and release with a signal. A slot held by a workflow that has
// closed without releasing (terminated, say) is reclaimed by a periodic check.
//
// Capacity is the MAX_CONCURRENT_TASKS of the most recently started worker:
// each worker announces its setting and start time when it starts
// (SignalCapacity), and acquire requests do not change it.
func SlotsWorkflow(ctx workflow.Context, st SlotsState) error {
	s := &slots{SlotsState: st}
	if s.Capacity < 1 {
		s.Capacity = 1
	}
	if err := workflow.SetQueryHandler(ctx, "state", func() (SlotsState, error) { return s.SlotsState, nil }); err != nil {
		return err
	}
	// Only task runs that ask with Reply send this update, so a history
	// recorded before it has none and replays as it was.
	err := workflow.SetUpdateHandlerWithOptions(ctx, task.UpdateAcquire,
		func(ctx workflow.Context, req SlotRequest) (task.SlotReply, error) {
			s.updates++
			return s.acquireNow(ctx, req), nil
		},
		workflow.UpdateHandlerOptions{Validator: func(_ workflow.Context, req SlotRequest) error {
			if req.WorkflowID == "" || req.Token == "" {
				return errors.New("a slot request needs a workflow id and a token")
			}
			return nil
		}})
	if err != nil {
		return err
	}
	// Before this change every acquire request set the capacity. A run that
	// started then keeps that rule until a worker announces its capacity,
	// which makes it continue as new under the new rule.
	s.fromWorkers = workflow.GetVersion(ctx, changeSlotsCapacityFromWorkers, workflow.DefaultVersion, 1) != workflow.DefaultVersion
	// A run recorded before parallel grants keeps granting one at a time
	// until its next continue-as-new.
	s.parallel = workflow.GetVersion(ctx, changeSlotsParallelGrants, workflow.DefaultVersion, 1) != workflow.DefaultVersion
	// A run on the task workflows' queue (an earlier release started it
	// there) moves to the semaphore's own queue: it continues as new there
	// in its first workflow task. A run recorded before this change stays.
	ownQueue := ""
	if workflow.GetVersion(ctx, changeSlotsOwnQueue, workflow.DefaultVersion, 1) != workflow.DefaultVersion {
		info := workflow.GetInfo(ctx)
		if base, ok := task.QueueOfSlotsWorkflow(info.WorkflowExecution.ID); ok {
			ownQueue = task.SlotsTaskQueue(base)
			s.renew = s.renew || info.TaskQueueName != ownQueue
		}
	}
	acquireCh := workflow.GetSignalChannel(ctx, task.SignalAcquire)
	releaseCh := workflow.GetSignalChannel(ctx, task.SignalRelease)
	capacityCh := workflow.GetSignalChannel(ctx, task.SignalCapacity)
	handled := 0
	limit := defaultHandledLimit
	if s.parallel {
		limit = parallelHandledLimit
	}
	if s.HandledLimit > 0 {
		limit = s.HandledLimit
	}
	checkEvery := defaultHolderCheck
	if s.CheckEvery > 0 {
		checkEvery = s.CheckEvery
	}
	for {
		s.grant(ctx)
		if handled >= limit || s.renew || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			s.drain(ctx, acquireCh, releaseCh, capacityCh)
			s.grant(ctx)
			// grant blocks until its signals are delivered; releases and
			// acquires that arrived meanwhile would die with this run (a
			// holder that never frees its slot, a waiter never granted).
			// Drain them into the state without blocking again; the next run
			// grants them.
			s.drain(ctx, acquireCh, releaseCh, capacityCh)
			if ownQueue != "" {
				ctx = workflow.WithWorkflowTaskQueue(ctx, ownQueue)
			}
			return workflow.NewContinueAsNewError(ctx, SlotsWorkflow, s.SlotsState)
		}
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(acquireCh, func(c workflow.ReceiveChannel, _ bool) {
			var req SlotRequest
			c.Receive(ctx, &req)
			s.acquire(req)
		})
		sel.AddReceive(releaseCh, func(c workflow.ReceiveChannel, _ bool) {
			var rel task.SlotRelease
			c.Receive(ctx, &rel)
			s.release(rel)
		})
		sel.AddReceive(capacityCh, func(c workflow.ReceiveChannel, _ bool) {
			var a task.CapacityAnnouncement
			c.Receive(ctx, &a)
			s.announce(a)
		})
		timerCtx, cancelTimer := workflow.WithCancel(ctx)
		if len(s.Waiters) > 0 && len(s.Holders) >= s.Capacity {
			sel.AddFuture(workflow.NewTimer(timerCtx, checkEvery), func(workflow.Future) {
				s.reclaim(ctx)
			})
		}
		sel.Select(ctx)
		cancelTimer()
		handled++
		// Each update adds two events to the history, like a signal and
		// its grant: they count towards the run's length as well.
		handled += s.updates
		s.updates = 0
		if s.parallel {
			// Everything delivered with this signal is taken in before
			// granting, so a burst is granted as one batch of signals
			// rather than one batch per request.
			handled += s.drain(ctx, acquireCh, releaseCh, capacityCh)
		}
	}
}

type slots struct {
	SlotsState
	// fromWorkers: the capacity comes from worker announcements only.
	fromWorkers bool
	// renew asks for a continue-as-new (to leave the old capacity rule, or
	// the task workflows' queue).
	renew bool
	// parallel: grants go out together and are awaited together.
	parallel bool
	// updates counts UpdateAcquire requests since the loop last looked.
	updates int
}

// acquireNow is UpdateAcquire: a free slot, when no task waits for one, goes
// to req at once and the reply says so; otherwise req queues as an acquire
// signal would, and its grant is a signal later. A holder asking again keeps
// its slot (under the new token) and hears "granted" in the reply rather
// than from a regrant signal. The cap holds because a slot is given here on
// exactly the condition grant gives one: fewer holders than the capacity and
// req first in the queue.
func (s *slots) acquireNow(ctx workflow.Context, req SlotRequest) task.SlotReply {
	for i, h := range s.Holders {
		if h.WorkflowID == req.WorkflowID {
			s.Holders[i].Token = req.Token
			return task.SlotReply{Granted: true}
		}
	}
	s.acquire(req)
	if len(s.Holders) < s.Capacity && len(s.Waiters) > 0 && s.Waiters[0].WorkflowID == req.WorkflowID {
		s.Waiters = s.Waiters[1:]
		s.Holders = append(s.Holders, SlotHolder{WorkflowID: req.WorkflowID, Token: req.Token, Since: workflow.Now(ctx)})
		return task.SlotReply{Granted: true}
	}
	return task.SlotReply{}
}

func (s *slots) acquire(req SlotRequest) {
	if req.Capacity > 0 && !s.fromWorkers {
		s.Capacity = req.Capacity
	}
	for i, h := range s.Holders {
		if h.WorkflowID == req.WorkflowID {
			// A holder asking again (a reset run of the same task) keeps its
			// slot under the new token instead of taking a second one.
			s.Holders[i].Token = req.Token
			s.Regrants = append(s.Regrants, req)
			return
		}
	}
	for i, w := range s.Waiters {
		if w.WorkflowID == req.WorkflowID {
			s.Waiters[i].Token = req.Token
			return
		}
	}
	// Waiters are kept in QueuedAt order (ties and zero times in arrival
	// order): requests race each other from many workers, but the queue is
	// the order the tasks were created in.
	at := len(s.Waiters)
	if !req.QueuedAt.IsZero() {
		for i, w := range s.Waiters {
			if !w.QueuedAt.IsZero() && w.QueuedAt.After(req.QueuedAt) {
				at = i
				break
			}
		}
	}
	s.Waiters = slices.Insert(s.Waiters, at, req)
}

func (s *slots) release(rel task.SlotRelease) {
	for i, h := range s.Holders {
		if h.WorkflowID == rel.WorkflowID && (rel.Token == "" || h.Token == rel.Token) {
			s.Holders = append(s.Holders[:i], s.Holders[i+1:]...)
			return
		}
	}
	for i, w := range s.Waiters {
		if w.WorkflowID == rel.WorkflowID && (rel.Token == "" || w.Token == rel.Token) {
			s.Waiters = append(s.Waiters[:i], s.Waiters[i+1:]...)
			return
		}
	}
}

// grant hands free slots to waiters in arrival order. A waiter whose workflow
// is gone (the signal fails) is dropped and the slot goes to the next one.
func (s *slots) grant(ctx workflow.Context) {
	if s.parallel {
		s.grantParallel(ctx)
		return
	}
	for len(s.Regrants) > 0 {
		r := s.Regrants[0]
		s.Regrants = s.Regrants[1:]
		if err := workflow.SignalExternalWorkflow(ctx, r.WorkflowID, "", task.SignalSlotGranted, task.SlotGrant{Token: r.Token}).Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Warn("regrant not delivered; releasing", "workflow_id", r.WorkflowID, "error", err)
			s.release(task.SlotRelease{WorkflowID: r.WorkflowID})
		}
	}
	for len(s.Holders) < s.Capacity && len(s.Waiters) > 0 {
		w := s.Waiters[0]
		s.Waiters = s.Waiters[1:]
		err := workflow.SignalExternalWorkflow(ctx, w.WorkflowID, "", task.SignalSlotGranted, task.SlotGrant{Token: w.Token}).Get(ctx, nil)
		if err != nil {
			workflow.GetLogger(ctx).Warn("slot grant not delivered; skipping waiter", "workflow_id", w.WorkflowID, "error", err)
			continue
		}
		s.Holders = append(s.Holders, SlotHolder{WorkflowID: w.WorkflowID, Token: w.Token, Since: workflow.Now(ctx)})
	}
}

// grantParallel is grant with every signal of a round sent before any is
// awaited: one workflow task sends them all, where grant needs one round
// trip per waiter. The cap stays exact because a waiter becomes a holder
// when its grant is sent, not when it is delivered, so len(Holders) counts
// grants in flight; a grant that cannot be delivered frees its slot again
// and the next round gives it to the next waiter.
func (s *slots) grantParallel(ctx workflow.Context) {
	type sent struct {
		req    SlotRequest
		future workflow.Future
	}
	for {
		var out []sent
		send := func(r SlotRequest) {
			f := workflow.SignalExternalWorkflow(ctx, r.WorkflowID, "", task.SignalSlotGranted, task.SlotGrant{Token: r.Token})
			out = append(out, sent{r, f})
		}
		for _, r := range s.Regrants {
			send(r)
		}
		s.Regrants = nil
		for len(s.Holders) < s.Capacity && len(s.Waiters) > 0 {
			w := s.Waiters[0]
			s.Waiters = s.Waiters[1:]
			s.Holders = append(s.Holders, SlotHolder{WorkflowID: w.WorkflowID, Token: w.Token, Since: workflow.Now(ctx)})
			send(w)
		}
		if len(out) == 0 {
			return
		}
		failed := false
		for _, o := range out {
			if err := o.future.Get(ctx, nil); err != nil {
				workflow.GetLogger(ctx).Warn("slot grant not delivered; freeing the slot", "workflow_id", o.req.WorkflowID, "error", err)
				s.release(task.SlotRelease{WorkflowID: o.req.WorkflowID, Token: o.req.Token})
				failed = true
			}
		}
		if !failed {
			return
		}
	}
}

// reclaim frees slots of holders whose workflows have closed.
func (s *slots) reclaim(ctx workflow.Context) {
	ids := make([]string, 0, len(s.Holders))
	for _, h := range s.Holders {
		ids = append(ids, h.WorkflowID)
	}
	var closed []string
	actx := bookkeeping(ctx)
	if err := workflow.ExecuteActivity(actx, task.ActCheckHolders, ids).Get(ctx, &closed); err != nil {
		workflow.GetLogger(ctx).Warn("holder check failed", "error", err)
		return
	}
	for _, id := range closed {
		s.release(task.SlotRelease{WorkflowID: id})
	}
}

// announce takes a worker's capacity unless a worker started later has
// announced one already. Clocks of different hosts may differ a little; a
// deploy's new workers start well after the ones they replace.
func (s *slots) announce(a task.CapacityAnnouncement) {
	if a.Capacity < 1 || a.StartedAt.Before(s.CapacityStartedAt) {
		return
	}
	s.Capacity, s.CapacityStartedAt = a.Capacity, a.StartedAt
	if !s.fromWorkers {
		s.renew = true
	}
}

// drain takes in every signal already delivered, without blocking, and
// returns how many it took.
func (s *slots) drain(ctx workflow.Context, acquireCh, releaseCh, capacityCh workflow.ReceiveChannel) int {
	n := 0
	for {
		var a task.CapacityAnnouncement
		if !capacityCh.ReceiveAsync(&a) {
			break
		}
		s.announce(a)
		n++
	}
	for {
		var req SlotRequest
		if !acquireCh.ReceiveAsync(&req) {
			break
		}
		s.acquire(req)
		n++
	}
	for {
		var rel task.SlotRelease
		if !releaseCh.ReceiveAsync(&rel) {
			break
		}
		s.release(rel)
		n++
	}
	return n
}
