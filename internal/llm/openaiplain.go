package llm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"

	openai "github.com/sashabaranov/go-openai"
)

// maxPlainReply bounds the whole completion read from a server that
// answered a streamed request with plain JSON.
const maxPlainReply = 16 << 20

// plainJSON tells a JSON response from a server-sent event stream.
func plainJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}

// asEventStream rewrites a whole chat completion (the answer of a server
// that does not stream, or ignores "stream": true, as some OpenAI-compatible
// proxies and older local servers do) into the server-sent events a stream
// of it would have been: one chunk with the whole message and its finish
// reason, one usage chunk, then [DONE]. The reply, its usage, its finish
// reason and a refusal read exactly as from a streaming server.
func asEventStream(resp *http.Response) error {
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxPlainReply+1))
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("reading the completion: %w", err)
	}
	if len(raw) > maxPlainReply {
		return fmt.Errorf("the completion is larger than %d bytes", maxPlainReply)
	}
	var whole openai.ChatCompletionResponse
	if err := json.Unmarshal(raw, &whole); err != nil {
		// Not a completion: leave the body as it was for the stream reader
		// to report.
		resp.Body = io.NopCloser(bytes.NewReader(raw))
		return nil
	}
	var out bytes.Buffer
	event := func(v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		out.WriteString("data: ")
		out.Write(b)
		out.WriteString("\n\n")
		return nil
	}
	chunk := openai.ChatCompletionStreamResponse{ID: whole.ID, Object: "chat.completion.chunk", Created: whole.Created, Model: whole.Model}
	for _, c := range whole.Choices {
		// A whole completion is complete even when the server names no
		// finish reason (a stream without one would have been cut off).
		if c.FinishReason == "" {
			c.FinishReason = openai.FinishReasonStop
		}
		chunk.Choices = append(chunk.Choices, openai.ChatCompletionStreamChoice{
			Index:        c.Index,
			Delta:        openai.ChatCompletionStreamChoiceDelta{Role: c.Message.Role, Content: c.Message.Content, Refusal: c.Message.Refusal},
			FinishReason: c.FinishReason,
		})
	}
	if err := event(chunk); err != nil {
		return err
	}
	if whole.Usage.TotalTokens+whole.Usage.PromptTokens+whole.Usage.CompletionTokens > 0 {
		usage := whole.Usage
		if err := event(openai.ChatCompletionStreamResponse{ID: whole.ID, Object: "chat.completion.chunk",
			Created: whole.Created, Model: whole.Model, Choices: []openai.ChatCompletionStreamChoice{}, Usage: &usage}); err != nil {
			return err
		}
	}
	out.WriteString("data: [DONE]\n\n")
	resp.Body = io.NopCloser(&out)
	resp.ContentLength = int64(out.Len())
	resp.Header.Set("Content-Type", "text/event-stream")
	return nil
}
