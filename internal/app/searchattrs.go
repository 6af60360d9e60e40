package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"ai-platform/internal/searchattr"
)

// searchAttrWait bounds how long a start waits for the server to accept
// newly added search attributes (its namespace cache refreshes every 2 s by
// default) and for a concurrent registration by another process.
const searchAttrWait = 30 * time.Second

// ensureSearchAttributes is EnsureSearchAttributes once per process: `run`
// builds the API and the worker on one client, and the second would only
// list the attributes the first has just seen.
func (a *App) ensureSearchAttributes(ctx context.Context, c client.Client) error {
	if a.searchAttrsReady {
		return nil
	}
	if err := EnsureSearchAttributes(ctx, c, a.Config.TemporalNamespace, a.Log); err != nil {
		return err
	}
	a.searchAttrsReady = true
	return nil
}

// EnsureSearchAttributes makes sure the task workflows' custom search
// attributes (package searchattr) are registered on the namespace: the API
// sets them when it starts a task and the workflow upserts them, and the
// server refuses both for an attribute it does not know. It lists first and
// adds only the missing ones, so it is cheap on every start; another process
// adding the same ones at the same moment is no failure. An attribute that
// exists with another type, or a server that refuses to add them (no room
// left, no operator permission), stops the start with what to do.
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, searchAttrWait)
	defer cancel()
	missing, err := missingSearchAttributes(ctx, c, namespace)
	if err != nil {
		return err
	}
	if len(missing) == 0 {
		return nil
	}
	req := &operatorservice.AddSearchAttributesRequest{Namespace: namespace, SearchAttributes: missing}
	if _, addErr := c.OperatorService().AddSearchAttributes(ctx, req); addErr != nil {
		// Another process may have added them (on SQL visibility the
		// loser of that race is refused): what counts is that they exist.
		if again, err := missingSearchAttributes(ctx, c, namespace); err != nil || len(again) > 0 {
			return fmt.Errorf("registering search attributes %s in namespace %q: %w (register them with "+
				"temporal-config/scripts/create-namespace.sh or `temporal operator search-attribute create`, see docs/OPERATIONS.md)",
				names(missing), namespace, addErr)
		}
	}
	log.Info("registered the task search attributes", "namespace", namespace, "added", names(missing))
	return awaitSearchAttributes(ctx, c, namespace)
}

// missingSearchAttributes lists the platform's attributes the namespace
// lacks; one registered with another type is an error.
func missingSearchAttributes(ctx context.Context, c client.Client, namespace string) (map[string]enumspb.IndexedValueType, error) {
	have, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return nil, fmt.Errorf("listing the search attributes of namespace %q: %w", namespace, err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for _, d := range searchattr.Definitions() {
		typ, ok := have.GetCustomAttributes()[d.Name]
		switch {
		case !ok:
			missing[d.Name] = d.Type
		case typ != d.Type:
			return nil, fmt.Errorf("search attribute %s of namespace %q has type %s, the platform needs %s: "+
				"remove it (`temporal operator search-attribute remove --name %s`) and start again",
				d.Name, namespace, typ, d.Type, d.Name)
		}
	}
	return missing, nil
}

// awaitSearchAttributes waits until the frontend accepts a query on the new
// attributes, so the first task started after this does not race the
// server's namespace cache.
func awaitSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	query := fmt.Sprintf("%s = '' AND %s = ''", searchattr.NameStatus, searchattr.NameTenant)
	for {
		_, err := c.WorkflowService().CountWorkflowExecutions(ctx,
			&workflowservice.CountWorkflowExecutionsRequest{Namespace: namespace, Query: query})
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the search attributes were added but namespace %q does not accept them yet: %w", namespace, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func names(m map[string]enumspb.IndexedValueType) string {
	var out []string
	for _, d := range searchattr.Definitions() {
		if _, ok := m[d.Name]; ok {
			out = append(out, d.Name)
		}
	}
	return strings.Join(out, ", ")
}
