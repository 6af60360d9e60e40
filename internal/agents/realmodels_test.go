package agents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"ai-platform/internal/llm"
)

// fake answers the n-th request (from 1) with script(n, req) and records
// every request.
type fake struct {
	reqs   []llm.Request
	script func(n int, req llm.Request) (llm.Response, error)
}

func (f *fake) Name() string  { return "fake" }
func (f *fake) Model() string { return "primary" }
func (f *fake) Complete(_ context.Context, req llm.Request) (llm.Response, error) {
	f.reqs = append(f.reqs, req)
	return f.script(len(f.reqs), req)
}

var usage = llm.Usage{InputTokens: 10, OutputTokens: 5, TotalTokens: 15}

// reply is a complete reply on the model the request asked for.
func reply(req llm.Request, text, finish string) llm.Response {
	model := req.Model
	if model == "" {
		model = "primary"
	}
	return llm.Response{Text: text, Model: model, Usage: usage, FinishReason: finish}
}

func okFile(llm.FileContent) error { return nil }

// briefOf decodes the brief a request carries.
func briefOf(t *testing.T, req llm.Request) llm.Brief {
	t.Helper()
	var b llm.Brief
	if err := json.Unmarshal([]byte(req.Messages[1].Content), &b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTruncatedReplyIsContinued: a reply cut off at the token limit is
// continued (assistant part + a request to continue, not in JSON mode) and
// the parts joined; the call records the truncation and charges every
// request.
func TestTruncatedReplyIsContinued(t *testing.T) {
	parts := []string{goodResearch[:40], goodResearch[40:90], goodResearch[90:]}
	p := &fake{script: func(n int, req llm.Request) (llm.Response, error) {
		finish := llm.FinishLength
		if n == len(parts) {
			finish = llm.FinishStop
		}
		return reply(req, parts[n-1], finish), nil
	}}
	a := &Agents{Provider: p, MaxTokens: 64}
	out, call, err := a.Research(context.Background(), llm.Brief{}, Turn{Attempt: 1})
	if err != nil || len(out.Requirements) != 1 {
		t.Fatalf("out %+v err %v", out, err)
	}
	if call.Calls != 3 || len(call.Each) != 3 || call.Usage.InputTokens != 30 || call.Each[0].FinishReason != llm.FinishLength {
		t.Fatalf("call %+v", call)
	}
	if len(call.Truncations) != 1 || call.Truncations[0].Action != TruncationContinued || call.Truncations[0].Requests != 3 {
		t.Fatalf("truncations %+v", call.Truncations)
	}
	last := p.reqs[2]
	m := last.Messages
	if len(m) != 4 || m[2].Role != "assistant" || m[2].Content != parts[0]+parts[1] || m[3].Role != "user" ||
		!strings.Contains(m[3].Content, "Continue it exactly where it stopped") || last.JSON || !p.reqs[0].JSON {
		t.Fatalf("continuation request %+v", last)
	}
}

// TestEndlessTruncationIsAnInvalidReplySayingSo: a reply still cut off
// after MaxContinuations continuations fails as an invalid reply whose
// message says it was cut off, never "not valid JSON".
func TestEndlessTruncationIsAnInvalidReplySayingSo(t *testing.T) {
	p := &fake{script: func(_ int, req llm.Request) (llm.Response, error) {
		return reply(req, `{"summary": "aaaa`, llm.FinishLength), nil
	}}
	a := &Agents{Provider: p, MaxTokens: 16}
	_, call, err := a.Research(context.Background(), llm.Brief{}, Turn{Attempt: 1})
	if !errors.Is(err, ErrInvalidReply) || !strings.Contains(err.Error(), "cut off at the token limit") ||
		strings.Contains(err.Error(), "not valid JSON") {
		t.Fatalf("err %v", err)
	}
	if len(p.reqs) != MaxContinuations+1 || call.Calls != MaxContinuations+1 ||
		call.Truncations[len(call.Truncations)-1].Action != TruncationGaveUp {
		t.Fatalf("%d requests, call %+v", len(p.reqs), call)
	}
}

// TestTruncatedMultiFileReplyAsksForFewerFiles: a cut-off reply for four
// files is not continued; the files are asked for two at a time, each
// request naming the files not yet returned, and a single file cut off is
// continued.
func TestTruncatedMultiFileReplyAsksForFewerFiles(t *testing.T) {
	files := func(paths []string) string {
		var fs []llm.FileContent
		for _, p := range paths {
			fs = append(fs, llm.FileContent{Path: p, Content: "# " + p + "\n"})
		}
		b, _ := json.Marshal(llm.CodeReply{Files: fs, Summary: fmt.Sprint(paths)})
		return string(b)
	}
	targets := []string{"a.py", "b.py", "c.py", "d.py"}
	var asked [][]string
	p := &fake{}
	p.script = func(_ int, req llm.Request) (llm.Response, error) {
		if !req.JSON { // continuation of d.py
			whole := files([]string{"d.py"})
			return reply(req, whole[len(req.Messages[2].Content):], llm.FinishStop), nil
		}
		b := briefOf(t, req)
		asked = append(asked, b.TargetFiles)
		switch {
		case len(b.TargetFiles) > 2:
			return reply(req, files(b.TargetFiles)[:30], llm.FinishLength), nil
		case slices.Equal(b.TargetFiles, []string{"c.py", "d.py"}):
			return reply(req, files(b.TargetFiles)[:20], llm.FinishLength), nil
		case slices.Equal(b.TargetFiles, []string{"d.py"}):
			return reply(req, files(b.TargetFiles)[:25], llm.FinishLength), nil
		}
		return reply(req, files(b.TargetFiles), llm.FinishStop), nil
	}
	a := &Agents{Provider: p}
	out, call, err := a.Code(context.Background(), llm.Brief{TargetFiles: targets, MaxFiles: 5}, Turn{Attempt: 1}, okFile)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{targets, {"a.py", "b.py"}, {"c.py", "d.py"}, {"c.py"}, {"d.py"}}
	if fmt.Sprint(asked) != fmt.Sprint(want) {
		t.Fatalf("asked for %v, want %v", asked, want)
	}
	var got []string
	for _, f := range out.Files {
		got = append(got, f.Path)
	}
	if !slices.Equal(got, targets) || out.Files[3].Content != "# d.py\n" {
		t.Fatalf("files %+v", out.Files)
	}
	var actions []string
	for _, tr := range call.Truncations {
		actions = append(actions, tr.Action)
	}
	if !slices.Equal(actions, []string{TruncationSplit, TruncationSplit, TruncationContinued}) || call.Calls != 6 {
		t.Fatalf("truncations %v, %d requests", actions, call.Calls)
	}
}

// TestFallbackModels covers when a request moves to a fallback model.
func TestFallbackModels(t *testing.T) {
	rateLimited := &llm.Error{Status: 429, Retryable: true, Message: "rate limited"}
	cases := []struct {
		name      string
		final     bool
		fallbacks []string
		// fail is the error of a request on the model named.
		fail      map[string]error
		wantErr   bool
		wantModel []string // models of the requests, in order
		wantMoves int
	}{
		{name: "final attempt moves on after 429", final: true, fallbacks: []string{"fb1", "fb2"},
			fail: map[string]error{"": rateLimited}, wantModel: []string{"", "fb1"}, wantMoves: 1},
		{name: "through the list in order", final: true, fallbacks: []string{"fb1", "fb2"},
			fail:      map[string]error{"": &llm.Error{Status: 503, Retryable: true, Message: "down"}, "fb1": rateLimited},
			wantModel: []string{"", "fb1", "fb2"}, wantMoves: 2},
		{name: "timeouts move too", final: true, fallbacks: []string{"fb1"},
			fail: map[string]error{"": context.DeadlineExceeded}, wantModel: []string{"", "fb1"}, wantMoves: 1},
		{name: "earlier attempts stay on the primary", final: false, fallbacks: []string{"fb1"},
			fail: map[string]error{"": rateLimited}, wantErr: true, wantModel: []string{""}},
		{name: "a bad request never moves", final: true, fallbacks: []string{"fb1"},
			fail: map[string]error{"": &llm.Error{Status: 400, Message: "bad request"}}, wantErr: true, wantModel: []string{""}},
		{name: "a refusal never moves", final: true, fallbacks: []string{"fb1"},
			fail: map[string]error{"": &llm.Error{Refused: true, Message: "refused"}}, wantErr: true, wantModel: []string{""}},
		{name: "every model failing ends with the last error", final: true, fallbacks: []string{"fb1"},
			fail: map[string]error{"": rateLimited, "fb1": rateLimited}, wantErr: true, wantModel: []string{"", "fb1"}, wantMoves: 1},
		{name: "no fallbacks configured", final: true,
			fail: map[string]error{"": rateLimited}, wantErr: true, wantModel: []string{""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := &fake{script: func(_ int, req llm.Request) (llm.Response, error) {
				if err := tc.fail[req.Model]; err != nil {
					return llm.Response{}, err
				}
				return reply(req, goodResearch, llm.FinishStop), nil
			}}
			a := &Agents{Provider: p, Fallbacks: tc.fallbacks}
			_, call, err := a.Research(context.Background(), llm.Brief{}, Turn{Attempt: 3, Final: tc.final})
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			var models []string
			for _, r := range p.reqs {
				models = append(models, r.Model)
			}
			if !slices.Equal(models, tc.wantModel) || len(call.Fallbacks) != tc.wantMoves {
				t.Fatalf("requests on %q, fallbacks %+v", models, call.Fallbacks)
			}
			if tc.wantMoves > 0 {
				first := call.Fallbacks[0]
				if first.From != "primary" || first.To != tc.fallbacks[0] || first.Error == "" {
					t.Fatalf("fallback %+v", first)
				}
			}
			if !tc.wantErr {
				used := tc.wantModel[len(tc.wantModel)-1]
				if call.Model != used || len(call.Each) != 1 || call.Each[0].Model != used {
					t.Fatalf("usage names %q / %+v, want %q", call.Model, call.Each, used)
				}
			}
		})
	}
}

// TestFallbackModelKeepsTheConversation: once moved, the corrective request
// stays on the fallback model (the primary's retries ran out).
func TestFallbackModelKeepsTheConversation(t *testing.T) {
	p := &fake{script: func(n int, req llm.Request) (llm.Response, error) {
		switch {
		case req.Model == "":
			return llm.Response{}, &llm.Error{Status: 429, Retryable: true, Message: "slow down"}
		case n == 2:
			return reply(req, "not json", llm.FinishStop), nil
		}
		return reply(req, goodResearch, llm.FinishStop), nil
	}}
	a := &Agents{Provider: p, Fallbacks: []string{"fb1"}}
	_, call, err := a.Research(context.Background(), llm.Brief{}, Turn{Attempt: 2, Final: true})
	if err != nil || len(p.reqs) != 3 || p.reqs[2].Model != "fb1" || call.Calls != 2 || len(call.Fallbacks) != 1 {
		t.Fatalf("err %v, %d requests, call %+v", err, len(p.reqs), call)
	}
}

// TestUsageOfAFailedRequestIsCounted: a reply cut off mid-stream returns
// its usage with the error; it is charged.
func TestUsageOfAFailedRequestIsCounted(t *testing.T) {
	p := &fake{script: func(_ int, req llm.Request) (llm.Response, error) {
		return llm.Response{Usage: usage, Model: "primary"}, &llm.Error{Retryable: true, Message: "stream cut"}
	}}
	a := &Agents{Provider: p}
	_, call, err := a.Research(context.Background(), llm.Brief{}, Turn{Attempt: 1})
	if err == nil || call.Calls != 1 || call.Usage != usage || call.Each[0].Model != "primary" {
		t.Fatalf("err %v call %+v", err, call)
	}
}

// TestContentFilterStopIsARefusal: a reply stopped by the content filter
// without an error from the provider is a refusal all the same.
func TestContentFilterStopIsARefusal(t *testing.T) {
	p := &fake{script: func(_ int, req llm.Request) (llm.Response, error) {
		return reply(req, "", llm.FinishContentFilter), nil
	}}
	a := &Agents{Provider: p, Fallbacks: []string{"fb1"}}
	_, _, err := a.Research(context.Background(), llm.Brief{}, Turn{Attempt: 3, Final: true})
	if !llm.IsRefusal(err) || len(p.reqs) != 1 {
		t.Fatalf("err %v after %d requests", err, len(p.reqs))
	}
}
