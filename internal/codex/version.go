package codex

// DefaultVersion is the version of the embedded default codex. A new task
// records it as its codex_version when the request names none, until the
// prepare step records the version of the codex the workers actually loaded
// (CODEX_PATH may name another).
const DefaultVersion = "1.0.0"
