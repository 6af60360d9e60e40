package openapicheck

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// testDoc is a small document with the shapes the checker has to handle: a
// path parameter, the catch-all {path} of the file route, a request body and
// an error schema.
const testDoc = `
openapi: 3.0.3
info: {title: t, version: '1'}
paths:
  /items/{id}:
    get:
      parameters:
        - {name: id, in: path, required: true, schema: {type: string, format: uuid}}
        - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 10}}
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema:
                type: object
                required: [id, count]
                properties:
                  id: {type: string}
                  count: {type: integer}
        '404': {description: nf, content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
  /items:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object, required: [name], properties: {name: {type: string}}}
      responses:
        '200': {description: ok, content: {application/json: {schema: {type: object}}}}
        '422': {description: bad, content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
  /files/{path}:
    get:
      parameters:
        - {name: path, in: path, required: true, schema: {type: string}}
      responses:
        '200': {description: ok, content: {application/zip: {schema: {type: string, format: binary}}}}
components:
  schemas:
    Error:
      type: object
      required: [detail]
      properties:
        detail: {type: string}
`

const itemID = "0b5e8f5e-4a43-4f7e-9d0b-6d2b1f0c9a11"

func TestCheck(t *testing.T) {
	c, err := New([]byte(testDoc))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		method      string
		target      string
		body        string
		status      int
		contentType string
		response    string
		// wantErr is a part of the error, "" when the exchange must pass.
		wantErr string
	}{
		{"documented answer", "GET", "/items/" + itemID + "?limit=3", "", 200, "application/json; charset=utf-8", `{"id":"x","count":1}`, ""},
		{"missing required field", "GET", "/items/" + itemID, "", 200, "application/json", `{"id":"x"}`, `property "count" is missing`},
		{"field of the wrong type", "GET", "/items/" + itemID, "", 200, "application/json", `{"id":"x","count":"1"}`, "count"},
		{"undocumented status", "GET", "/items/" + itemID, "", 409, "application/json", `{"detail":"no"}`, "409"},
		{"undocumented content type", "GET", "/items/" + itemID, "", 200, "text/plain", `hello`, "text/plain"},
		{"error shape", "GET", "/items/" + itemID, "", 404, "application/json", `{"detail":"Task not found"}`, ""},
		{"wrong error shape", "GET", "/items/" + itemID, "", 404, "application/json", `{"error":"nf"}`, "detail"},
		{"bad parameter refused", "GET", "/items/not-a-uuid", "", 404, "application/json", `{"detail":"Task not found"}`, ""},
		{"bad parameter accepted", "GET", "/items/" + itemID + "?limit=99", "", 200, "application/json", `{"id":"x","count":1}`, "request"},
		{"bad body refused", "POST", "/items", `{"nom":"x"}`, 422, "application/json", `{"detail":"name is required"}`, ""},
		{"bad body accepted", "POST", "/items", `{"nom":"x"}`, 200, "application/json", `{}`, "request"},
		{"good body", "POST", "/items", `{"name":"x"}`, 200, "application/json", `{}`, ""},
		{"catch-all path", "GET", "/files/a/b/c.py", "", 200, "application/zip", "PK\x03\x04", ""},
		{"unknown path answered 404", "GET", "/nowhere", "", 404, "application/json", `{"detail":"Not found"}`, ""},
		{"unknown path answered 200", "GET", "/nowhere", "", 200, "application/json", `{}`, "not in the document"},
		{"unknown method answered 405", "DELETE", "/items", "", 405, "application/json", `{"detail":"Method not allowed"}`, ""},
		{"unknown method answered 200", "DELETE", "/items", "", 200, "application/json", `{}`, "no DELETE operation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			h := http.Header{}
			h.Set("Content-Type", tt.contentType)
			err := c.Check(t.Context(), Exchange{Request: req, RequestBody: []byte(tt.body), Status: tt.status, Header: h, Body: []byte(tt.response)})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("want no mismatch, got %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("want a mismatch about %q, got none", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("want a mismatch about %q, got %v", tt.wantErr, err)
			}
		})
	}
}

// TestHandler checks that the wrapper passes requests and responses through
// unchanged and reports a mismatching exchange with its route and status.
func TestHandler(t *testing.T) {
	c, err := New([]byte(testDoc))
	if err != nil {
		t.Fatal(err)
	}
	var reports []error
	var seenBody string
	h := c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seenBody = string(b)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `{"id":"x"}`)
	}), func(err error) { reports = append(reports, err) })
	srv := httptest.NewServer(h)
	defer srv.Close()

	resp, err := http.Post(srv.URL+"/items", "application/json", strings.NewReader(`{"name":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if seenBody != `{"name":"x"}` || string(got) != `{"id":"x"}` || resp.StatusCode != 200 {
		t.Fatalf("the wrapper changed the exchange: handler saw %q, client got %d %q", seenBody, resp.StatusCode, got)
	}
	if len(reports) != 0 {
		t.Fatalf("a documented exchange was reported: %v", reports)
	}

	resp, err = http.Get(srv.URL + "/items/" + itemID)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(reports) != 1 {
		t.Fatalf("want one report for the answer without count, got %v", reports)
	}
	for _, want := range []string{"GET /items/" + itemID, "(/items/{id})", "-> 200", `"count"`} {
		if !strings.Contains(reports[0].Error(), want) {
			t.Errorf("the report does not name %q:\n%v", want, reports[0])
		}
	}
}

// TestDocumentLoads checks that docs/openapi.yaml is a valid OpenAPI 3.0
// document for kin-openapi, which the integration tests rely on.
func TestDocumentLoads(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := c.find("/api/tasks/" + itemID + "/files/src/app/main.py"); !ok {
		t.Fatal("the file route does not match a nested path")
	}
}
