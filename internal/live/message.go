// Package live carries what a model is writing, while it writes it, from the
// activity that calls the model to the clients watching the task: the task
// page, WebSocket clients that opt in and `aiplatform task ... --follow`.
//
// The channel is best-effort and ephemeral. Partial text never goes into
// workflow history, events or artifacts: what is kept for good is still
// only what the stages store when a reply is complete. A message lost on
// the way (a slow client, a full buffer, a restarted listener) shows as a
// gap in its stream's sequence numbers; the client marks the gap and the
// finished files replace the partial view anyway.
//
// A Stream (one per activity attempt and stage) turns the provider's
// llm.StreamEvents into Messages, throttled to at most a few a second per
// task with the text coalesced in between. A Hub delivers them to the
// subscribers of the task in this process and, when API and worker are
// separate processes, through a Transport: PostgreSQL LISTEN/NOTIFY (see
// PGTransport for why).
package live

// Message events.
const (
	// EventStart opens a stream: a stage's first attempt began calling the
	// model. Clients reset their view.
	EventStart = "start"
	// EventRestart opens the stream of a later attempt of the same stage
	// (a retry, e.g. after a worker was killed mid-stream). Clients reset
	// their view: the partial text of the earlier attempt is void.
	EventRestart = "restart"
	// EventRequest says a model request began (Request, Model). A stage
	// may send several (a re-ask after an invalid reply); clients show
	// each request's text afresh, except when Continued is set: the
	// request continues a reply cut off at the token limit, and its text
	// goes on where the last one stopped.
	EventRequest = "request"
	// EventDelta carries text appended since the last message: to File
	// when set (the coder's file being written), else to the stage's text.
	EventDelta = "delta"
	// EventEnd says a model request finished (FinishReason, final Tokens).
	EventEnd = "end"
	// EventDone closes the stream: the attempt's model calls are over,
	// whether they succeeded or not.
	EventDone = "done"
)

// Message is one live update of a task. Over the WebSocket it is sent as a
// JSON object with "type":"live" beside the task records.
type Message struct {
	Type   string `json:"type"` // always "live"
	TaskID string `json:"task_id"`
	// Stream names one stage attempt ("implementation/g0/s12/a2"); Seq
	// counts its messages from 1, so a client sees a gap as a jump.
	Stream string `json:"stream"`
	Seq    int64  `json:"seq"`
	Event  string `json:"event"`
	// Stage is the client-facing stage (research, design, implementation,
	// review) and Role the agent (researcher, designer, coder, reviewer).
	Stage   string `json:"stage"`
	Role    string `json:"role,omitempty"`
	Attempt int    `json:"attempt"`
	// Request is the 1-based model request within the attempt.
	Request int    `json:"request,omitempty"`
	Model   string `json:"model,omitempty"`
	// Tokens are the output tokens of the current request so far (counted
	// from the text until the provider reports its usage at the end), and
	// TokensPerSecond their rate since the request began.
	Tokens          int64   `json:"tokens"`
	TokensPerSecond float64 `json:"tokens_per_second"`
	// File is the path the coder is writing (decoded from its JSON reply);
	// Text is appended to that file's content when File is set, else to
	// the stage's readable text.
	File         string `json:"file,omitempty"`
	Text         string `json:"text,omitempty"`
	FinishReason string `json:"finish_reason,omitempty"`
	// Continued marks a request event that continues the previous reply.
	Continued bool `json:"continued,omitempty"`
	// At is when the message was sent, in Unix milliseconds.
	At int64 `json:"at"`
}

// TypeLive is Message.Type.
const TypeLive = "live"
