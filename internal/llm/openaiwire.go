package llm

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
)

// callState travels in the request context from Complete to the wire: what
// the wire must add to the body, and what it saw of the response.
type callState struct {
	temperature float64
	// stream selects the wire's streaming client; touch, when set, is
	// called on every read of the response body that brought bytes (the
	// stream's idle timer).
	stream     bool
	touch      func()
	sent       bool
	status     int
	retryAfter string
}

type callStateKey struct{}

// wire is the HTTP client go-openai sends through. go-openai drops a zero
// temperature (its field is omitempty), so wire writes "temperature" into the
// JSON body itself; it also records the status and Retry-After header, which
// go-openai's errors do not carry. It never retries.
type wire struct {
	client *http.Client
	// stream sends streamed requests: no overall timeout (see
	// OpenAI.completeStream).
	stream *http.Client
}

// Do sends req once.
func (w *wire) Do(req *http.Request) (*http.Response, error) {
	call, _ := req.Context().Value(callStateKey{}).(*callState)
	if call != nil && req.Body != nil {
		body, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = withTemperature(body, call.temperature)
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		req.ContentLength = int64(len(body))
	}
	if call != nil {
		call.sent = true
	}
	client := w.client
	if call != nil && call.stream && w.stream != nil {
		client = w.stream
	}
	resp, err := client.Do(req)
	if call != nil && call.stream && resp != nil && resp.StatusCode == http.StatusOK && plainJSON(resp.Header.Get("Content-Type")) {
		// A server that ignores "stream": true answers with one whole
		// completion; it is read as a stream of one chunk.
		if err := asEventStream(resp); err != nil {
			return nil, err
		}
	}
	if call != nil && resp != nil {
		call.status = resp.StatusCode
		call.retryAfter = resp.Header.Get("Retry-After")
		if call.touch != nil {
			call.touch() // the headers arrived
			resp.Body = &touchBody{ReadCloser: resp.Body, touch: call.touch}
		}
	}
	return resp, err
}

// touchBody calls touch whenever a read brings bytes.
type touchBody struct {
	io.ReadCloser
	touch func()
}

func (b *touchBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.touch()
	}
	return n, err
}

// withTemperature sets the top-level "temperature" of a JSON object body;
// other bodies are returned unchanged.
func withTemperature(body []byte, t float64) []byte {
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil || fields == nil {
		return body
	}
	fields["temperature"] = json.RawMessage(strconv.FormatFloat(t, 'f', -1, 64))
	out, err := json.Marshal(fields)
	if err != nil {
		return body
	}
	return out
}
