//go:build !unix

package workspace

import "os"

// readFlags opens files for reading; non-Unix systems have no O_NONBLOCK.
const readFlags = os.O_RDONLY
