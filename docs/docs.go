// Package docs embeds the documents the server serves: the OpenAPI description.
package docs

import (
	_ "embed"
	"fmt"

	"github.com/goccy/go-yaml"
)

//go:embed openapi.yaml
var openapiYAML []byte

// OpenAPIYAML is the OpenAPI 3 document as written.
func OpenAPIYAML() []byte { return openapiYAML }

// OpenAPIJSON is the same document as JSON.
func OpenAPIJSON() ([]byte, error) {
	b, err := yaml.YAMLToJSON(openapiYAML)
	if err != nil {
		return nil, fmt.Errorf("docs: openapi.yaml is not valid YAML: %w", err)
	}
	return b, nil
}
