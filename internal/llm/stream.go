package llm

import "unicode/utf8"

// emitter sends a request's stream events to its sink, if it has one. Every
// provider call that starts (StreamBegin) ends with exactly one StreamEnd,
// also when it fails, so a live view always sees the attempt close.
type emitter Sink

func (e emitter) send(ev StreamEvent) {
	if e != nil {
		e(ev)
	}
}

func (e emitter) begin(model string) { e.send(StreamEvent{Kind: StreamBegin, Model: model}) }

func (e emitter) delta(text string) {
	if text != "" {
		e.send(StreamEvent{Kind: StreamDelta, Text: text})
	}
}

func (e emitter) end(resp Response) {
	e.send(StreamEvent{Kind: StreamEnd, Usage: resp.Usage, FinishReason: resp.FinishReason})
}

// bytesPerToken is the local token estimate's ratio: about 4 bytes of
// English text or code per token for GPT-style BPE tokenizers. It is only
// used when a server reports no usage (and for worst-case checks); it is
// rough for non-Latin text, which has more bytes per token, so the estimate
// errs on the high side there.
const bytesPerToken = 4

// messageOverheadTokens approximates the per-message framing (role and
// separators) the chat format adds to the prompt.
const messageOverheadTokens = 4

// EstimateTokens estimates the tokens of s: ceil(bytes / 4).
func EstimateTokens(s string) int64 {
	return int64((len(s) + bytesPerToken - 1) / bytesPerToken)
}

// EstimateInputTokens estimates the prompt tokens of messages: the text of
// each message plus a small framing overhead per message.
func EstimateInputTokens(messages []Message) int64 {
	var n int64
	for _, m := range messages {
		n += EstimateTokens(m.Content) + messageOverheadTokens
	}
	return n
}

// countedUsage is the local estimate of a call's usage (Response.UsageCounted).
func countedUsage(messages []Message, reply string) Usage {
	in, out := EstimateInputTokens(messages), EstimateTokens(reply)
	return Usage{InputTokens: in, OutputTokens: out, TotalTokens: in + out}
}

// mockChunks splits text into the mock's stream chunks: 16 to 48 bytes,
// varied deterministically so a viewer sees uneven arrivals like a real
// model's, and never splitting a UTF-8 sequence.
func mockChunks(text string) []string {
	var out []string
	for i := 0; len(text) > 0; i++ {
		n := min(16+(i*11)%33, len(text))
		for n < len(text) && !utf8.RuneStart(text[n]) {
			n++
		}
		out = append(out, text[:n])
		text = text[n:]
	}
	return out
}
