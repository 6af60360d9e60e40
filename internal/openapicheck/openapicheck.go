// Package openapicheck checks HTTP exchanges against docs/openapi.yaml, the
// contract API clients generate their clients from. The integration test
// harness (internal/app/apptest) runs every request its tests send through
// Handler, so a handler that answers a field, status or content type the
// document does not describe fails the test that saw it.
package openapicheck

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"ai-platform/docs"
)

// maxRecordedBody bounds the response bytes kept for checking; a larger body
// (a big zip) is passed on whole but only its status and headers are checked.
const maxRecordedBody = 16 << 20

func init() {
	// Zips are opaque bytes to the contract (type string, format binary), as
	// are the web UI's HTML page and raw file downloads; kin-openapi ships a
	// decoder that unpacks zips, which would check the entries instead.
	openapi3filter.RegisterBodyDecoder("application/zip", openapi3filter.FileBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
	// Task ids are UUIDs (format uuid); kin-openapi checks that format only
	// when asked to.
	openapi3.DefineStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC4122))
}

// Checker matches requests to the document's operations and validates both
// sides of an exchange.
type Checker struct {
	doc    *openapi3.T
	routes []route
}

// route is one path of the document as a pattern over request paths.
type route struct {
	path   string
	item   *openapi3.PathItem
	re     *regexp.Regexp
	params []string
}

var (
	loadOnce sync.Once
	loaded   *Checker
	loadErr  error
)

// Load parses and validates docs/openapi.yaml once per process and returns
// its checker.
func Load() (*Checker, error) {
	loadOnce.Do(func() { loaded, loadErr = New(docs.OpenAPIYAML()) })
	return loaded, loadErr
}

// New builds a checker from an OpenAPI 3.0 document, which must be valid.
func New(document []byte) (*Checker, error) {
	doc, err := openapi3.NewLoader().LoadFromData(document)
	if err != nil {
		return nil, fmt.Errorf("openapicheck: loading the document: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("openapicheck: the document is not valid OpenAPI: %w", err)
	}
	c := &Checker{doc: doc}
	for _, p := range doc.Paths.InMatchingOrder() {
		re, params := pathPattern(p)
		c.routes = append(c.routes, route{path: p, item: doc.Paths.Value(p), re: re, params: params})
	}
	// Paths without parameters first, then by fewer parameters: a literal
	// segment wins over a parameter, as in the router.
	sort.SliceStable(c.routes, func(i, j int) bool { return len(c.routes[i].params) < len(c.routes[j].params) })
	return c, nil
}

var paramRe = regexp.MustCompile(`\{([^}]+)\}`)

// pathPattern turns a document path into a regexp over request paths. A
// parameter matches one segment, except a final {path}: the API's file
// route takes the rest of the URL there, slashes included.
func pathPattern(p string) (*regexp.Regexp, []string) {
	var params []string
	var sb strings.Builder
	sb.WriteString("^")
	last := 0
	for _, m := range paramRe.FindAllStringSubmatchIndex(p, -1) {
		sb.WriteString(regexp.QuoteMeta(p[last:m[0]]))
		name := p[m[2]:m[3]]
		params = append(params, name)
		if name == "path" && m[1] == len(p) {
			sb.WriteString("(.+)")
		} else {
			sb.WriteString("([^/]+)")
		}
		last = m[1]
	}
	sb.WriteString(regexp.QuoteMeta(p[last:]))
	sb.WriteString("$")
	return regexp.MustCompile(sb.String()), params
}

// find returns the document route of a request path and its parameters.
func (c *Checker) find(urlPath string) (route, map[string]string, bool) {
	for _, r := range c.routes {
		m := r.re.FindStringSubmatch(urlPath)
		if m == nil {
			continue
		}
		params := make(map[string]string, len(r.params))
		for i, name := range r.params {
			params[name] = m[i+1]
		}
		return r, params, true
	}
	return route{}, nil, false
}

// Exchange is one request and the response the server gave it.
type Exchange struct {
	Request     *http.Request
	RequestBody []byte
	Status      int
	Header      http.Header
	Body        []byte
	// BodyTruncated is set when Body holds only the start of the response.
	BodyTruncated bool
}

// Check validates an exchange against the document and returns what does
// not match, nil when it all does. The response must match the operation's
// documented answer for its status, content type and body. The request must
// match the operation unless the server refused it with a 4XX: tests send
// malformed requests on purpose, and what matters then is that the server
// refused them too (a malformed request the server accepts means the code
// and the document disagree). Requests outside the document must be answered
// 404 or 405.
func (c *Checker) Check(ctx context.Context, x Exchange) error {
	req := x.Request
	r, params, ok := c.find(req.URL.Path)
	if !ok {
		if x.Status == http.StatusNotFound {
			return nil
		}
		return c.mismatch(x, "", fmt.Errorf("the path is not in the document, yet the server answered %d", x.Status))
	}
	op := r.item.GetOperation(req.Method)
	if op == nil {
		if x.Status == http.StatusMethodNotAllowed || x.Status == http.StatusNotFound {
			return nil
		}
		return c.mismatch(x, r.path, fmt.Errorf("the document has no %s operation here, yet the server answered %d", req.Method, x.Status))
	}
	opts := &openapi3filter.Options{
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true,
		MultiError:            true,
		ExcludeResponseBody:   x.BodyTruncated,
	}
	clone := req.Clone(ctx)
	clone.Body = io.NopCloser(bytes.NewReader(x.RequestBody))
	in := &openapi3filter.RequestValidationInput{
		Request: clone, PathParams: params, Options: opts,
		Route: &routers.Route{Spec: c.doc, Path: r.path, PathItem: r.item, Method: req.Method, Operation: op},
	}
	var problems []error
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil && (x.Status < 400 || x.Status >= 500) {
		problems = append(problems, fmt.Errorf("request: %w", err))
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: x.Status, Header: x.Header, Options: opts}
	if err := openapi3filter.ValidateResponse(ctx, out.SetBodyBytes(x.Body)); err != nil {
		problems = append(problems, fmt.Errorf("response: %w", err))
	}
	if len(problems) == 0 {
		return nil
	}
	return c.mismatch(x, r.path, errors.Join(problems...))
}

// mismatch names the exchange in the error: method, URL, the document path
// it matched, status and (shortened) response body.
func (c *Checker) mismatch(x Exchange, docPath string, err error) error {
	where := x.Request.Method + " " + x.Request.URL.RequestURI()
	if docPath != "" {
		where += " (" + docPath + ")"
	}
	body := string(x.Body)
	if len(body) > 600 {
		body = body[:600] + "..."
	}
	return fmt.Errorf("docs/openapi.yaml does not describe %s -> %d %s\n%w\nresponse body: %s",
		where, x.Status, x.Header.Get("Content-Type"), err, body)
}

// Handler serves h and checks each exchange it serves, passing what does
// not match to report. WebSocket upgrades (hijacked connections) and CORS
// preflights (answered by middleware before any operation) pass unchecked.
func (c *Checker) Handler(h http.Handler, report func(error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "" || r.Method == http.MethodOptions {
			h.ServeHTTP(w, r)
			return
		}
		var reqBody []byte
		if r.Body != nil {
			b, err := io.ReadAll(r.Body)
			if err != nil {
				report(fmt.Errorf("openapicheck: reading the body of %s %s: %w", r.Method, r.URL.RequestURI(), err))
			}
			_ = r.Body.Close()
			reqBody = b
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
		rec := &recorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		x := Exchange{Request: r, RequestBody: reqBody, Status: rec.status(), Header: w.Header(),
			Body: rec.body.Bytes(), BodyTruncated: rec.truncated}
		if err := c.Check(context.Background(), x); err != nil {
			report(err)
		}
	})
}

// recorder passes a response through and keeps its status and body.
type recorder struct {
	http.ResponseWriter
	code      int
	body      bytes.Buffer
	truncated bool
}

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	if room := maxRecordedBody - r.body.Len(); room >= len(b) {
		r.body.Write(b)
	} else {
		r.body.Write(b[:max(0, room)])
		r.truncated = true
	}
	return r.ResponseWriter.Write(b)
}

// Flush keeps streaming responses streaming.
func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) status() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}
