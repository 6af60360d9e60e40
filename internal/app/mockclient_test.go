package app

import (
	"context"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/mocks"
	"google.golang.org/grpc"

	"ai-platform/internal/searchattr"
)

// registeredOperator answers ListSearchAttributes with every attribute the
// platform registers, as a namespace set up before would; any other call
// panics (the embedded interface is nil), so a test notices one.
type registeredOperator struct {
	operatorservice.OperatorServiceClient
}

func (registeredOperator) ListSearchAttributes(context.Context, *operatorservice.ListSearchAttributesRequest,
	...grpc.CallOption) (*operatorservice.ListSearchAttributesResponse, error) {
	have := map[string]enumspb.IndexedValueType{}
	for _, d := range searchattr.Definitions() {
		have[d.Name] = d.Type
	}
	return &operatorservice.ListSearchAttributesResponse{CustomAttributes: have}, nil
}

// mockClient is a Temporal client mock whose namespace already has the
// task search attributes, so APIServer's start-up check passes without a
// server; the test sets up what else it expects.
func mockClient() *mocks.Client {
	c := &mocks.Client{}
	c.On("OperatorService").Return(registeredOperator{})
	return c
}
