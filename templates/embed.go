// Package templates embeds the shipped project templates (one directory per
// template id) so a binary can seed workspaces when no templates directory is
// on disk.
package templates

import "embed"

// FS holds python_cli, python_fastapi and python_lib. Directory patterns skip
// names starting with "_" or ".", which keeps __pycache__ and .pytest_cache
// out; the package __init__.py files are therefore listed one by one.
//
//go:embed python_cli python_fastapi python_lib
//go:embed python_fastapi/app/__init__.py python_lib/mylib/__init__.py
var FS embed.FS
