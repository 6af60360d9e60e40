package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// requestTimeout bounds one JSON call; downloads are bounded by ctx only.
const requestTimeout = 60 * time.Second

// client calls the API with the configured credentials.
type client struct {
	base  string // no trailing slash
	http  *http.Client
	creds credentials
}

// credentials put authentication on requests.
type credentials interface {
	// apply sets the request's auth header (refreshing an expired token first).
	apply(ctx context.Context, req *http.Request) error
	// renew is called after a 401; true means a retry may succeed.
	renew(ctx context.Context) (bool, error)
	// hint says how to fix a 401.
	hint() string
}

// noCredentials sends nothing; the server answers 401 with its reason.
type noCredentials struct{}

func (noCredentials) apply(context.Context, *http.Request) error { return nil }
func (noCredentials) renew(context.Context) (bool, error)        { return false, nil }
func (noCredentials) hint() string {
	return "Set AIPLATFORM_API_KEY, or run `aiplatform login` on a server with user accounts."
}

// apiKey sends X-API-Key.
type apiKey string

func (k apiKey) apply(_ context.Context, req *http.Request) error {
	req.Header.Set("X-API-Key", string(k))
	return nil
}
func (apiKey) renew(context.Context) (bool, error) { return false, nil }
func (apiKey) hint() string                        { return "Check AIPLATFORM_API_KEY." }

func newHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.ResponseHeaderTimeout = requestTimeout
	return &http.Client{Transport: t}
}

// newClient builds the client from the environment and the stored login.
func (a *app) newClient() (*client, error) {
	base, explicit := a.env("AIPLATFORM_URL")
	base = strings.TrimSpace(base)
	stored, _ := loadCredentials(a.env) // a broken file must not stop API-key use
	if base == "" {
		base = DefaultURL
		if stored != nil && stored.URL != "" {
			base = stored.URL
		}
	}
	base, err := normalizeURL(base)
	if err != nil {
		return nil, err
	}
	c := &client{base: base, http: newHTTPClient(), creds: noCredentials{}}
	if key, _ := a.env("AIPLATFORM_API_KEY"); strings.TrimSpace(key) != "" {
		c.creds = apiKey(strings.TrimSpace(key))
		return c, nil
	}
	// A login is used only for the server it was made on, so a token never
	// travels to another host because AIPLATFORM_URL changed.
	if stored != nil && stored.URL == base {
		c.creds = &session{env: a.env, creds: stored, client: c}
	} else if stored != nil && explicit {
		c.creds = otherServer{stored: stored.URL}
	}
	return c, nil
}

// otherServer explains why a stored login is not used.
type otherServer struct{ stored string }

func (otherServer) apply(context.Context, *http.Request) error { return nil }
func (otherServer) renew(context.Context) (bool, error)        { return false, nil }
func (o otherServer) hint() string {
	return "Your login is for " + o.stored + ", not AIPLATFORM_URL; run `aiplatform login` for this server or set AIPLATFORM_API_KEY."
}

func normalizeURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", usageErr("AIPLATFORM_URL=%q is not an http(s) URL such as %s", raw, DefaultURL)
	}
	if u.User != nil {
		return "", usageErr("AIPLATFORM_URL must not contain credentials; use AIPLATFORM_API_KEY")
	}
	return strings.TrimRight(u.Scheme+"://"+u.Host+u.Path, "/"), nil
}

// response is a completed call.
type response struct {
	status int
	header http.Header
	body   []byte
}

// call sends one request (retrying once after a renewed login) and turns
// non-2xx answers into *APIError. body is JSON-encoded when not nil.
func (c *client) call(ctx context.Context, method, path string, query url.Values, body any) (*response, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	resp, err := c.stream(ctx, method, path, query, body)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, c.transportErr(ctx, err)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: raw}, nil
}

// stream is call without reading the body: for downloads. The caller closes
// the body of a 2xx answer; errors are already decoded.
func (c *client) stream(ctx context.Context, method, path string, query url.Values, body any) (*http.Response, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, fmt.Errorf("encoding the request: %w", err)
		}
	}
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(payload))
		if err != nil {
			return nil, fmt.Errorf("building the request: %w", err)
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", "aiplatform-cli")
		if err := c.creds.apply(ctx, req); err != nil {
			return nil, err
		}
		resp, err := c.http.Do(req)
		if err != nil {
			return nil, c.transportErr(ctx, err)
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return resp, nil
		}
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 {
			if ok, err := c.creds.renew(ctx); err != nil {
				return nil, err
			} else if ok {
				continue
			}
		}
		apiErr := newAPIError(resp.StatusCode, raw, resp.Header.Get("Retry-After"))
		if resp.StatusCode == http.StatusUnauthorized {
			apiErr.Hint = c.creds.hint()
		}
		return nil, apiErr
	}
}

func (c *client) transportErr(ctx context.Context, err error) error {
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("the server at %s did not answer within %s", c.base, requestTimeout)
		}
		return ctx.Err()
	}
	return unreachable(c.base, err)
}

// getJSON GETs path, decodes into out (when not nil) and returns the raw body.
func (c *client) getJSON(ctx context.Context, path string, query url.Values, out any) ([]byte, error) {
	return c.sendJSON(ctx, http.MethodGet, path, query, nil, out)
}

func (c *client) sendJSON(ctx context.Context, method, path string, query url.Values, body, out any) ([]byte, error) {
	r, err := c.call(ctx, method, path, query, body)
	if err != nil {
		return nil, err
	}
	if out != nil {
		if err := json.Unmarshal(r.body, out); err != nil {
			return nil, fmt.Errorf("the server's answer to %s %s is not the expected JSON: %w", method, path, err)
		}
	}
	return r.body, nil
}

// taskPath is /api/tasks/{id}{suffix}, with the id escaped.
func taskPath(id, suffix string) string {
	return "/api/tasks/" + url.PathEscape(id) + suffix
}

// notFoundTask adds the hint a 404 on a task route deserves.
func notFoundTask(err error, id string) error {
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound && ae.Message == "Task not found" {
		ae.Message = "task " + id + " not found"
		ae.Hint = "Check the id (`aiplatform task list`); tasks of other API keys or users are not visible."
	}
	return err
}
