#!/bin/sh
# One-shot job (temporal-namespace in docker-compose.yml): registers the
# namespace the platform uses, with its retention, once the server answers,
# and the custom search attributes its task workflows carry (so that the API
# and the workers, which start after this job, find them registered).
# An existing namespace is left as it is (change its retention with
# `temporal operator namespace update --retention`); re-runs are no-ops.
set -eu
: "${TEMPORAL_ADDRESS:?}" "${NAMESPACE:=default}" "${RETENTION:=7d}"

tries=0
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
  tries=$((tries + 1))
  if [ "$tries" -ge 60 ]; then
    echo "Temporal at $TEMPORAL_ADDRESS did not become healthy in 2 minutes" >&2
    exit 1
  fi
  sleep 2
done

if temporal operator namespace describe --namespace "$NAMESPACE" --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; then
  echo "namespace $NAMESPACE exists"
else
  temporal operator namespace create --namespace "$NAMESPACE" --retention "$RETENTION" --address "$TEMPORAL_ADDRESS"
  echo "namespace $NAMESPACE created with retention $RETENTION"
fi

# Name and type of each search attribute, one a line: the list in
# internal/searchattr (TestComposeSetUpRegistersEveryAttribute keeps them in
# step). The platform's processes register the same list at start-up, so a
# deployment without this job gets them too.
SEARCH_ATTRIBUTES='
TaskStatus Keyword
TaskStage Keyword
TaskTemplate Keyword
TenantHash Keyword
WaitingSince Datetime
'

# `search-attribute create` leaves an attribute that exists with the same
# type alone (and fails on one with another type, which needs an operator).
set --
for pair in $(echo "$SEARCH_ATTRIBUTES" | tr ' ' ':'); do
  set -- "$@" --name "${pair%%:*}" --type "${pair#*:}"
done
# A namespace created a moment ago is not in every frontend's namespace cache
# yet (the real server refreshes it every few seconds): retry until it is.
tries=0
until out=$(temporal operator search-attribute create --namespace "$NAMESPACE" --address "$TEMPORAL_ADDRESS" "$@" 2>&1); do
  tries=$((tries + 1))
  case "$out" in
  *"not found"* | *"not exist"* | *"Unavailable"* | *"unavailable"*) ;;
  *)
    echo "$out" >&2
    exit 1
    ;;
  esac
  if [ "$tries" -ge 30 ]; then
    echo "$out" >&2
    echo "namespace $NAMESPACE did not accept search attributes in 60 s" >&2
    exit 1
  fi
  sleep 2
done
echo "search attributes registered in namespace $NAMESPACE"
