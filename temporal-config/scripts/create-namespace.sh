#!/bin/sh
# One-shot job (temporal-namespace in docker-compose.yml): registers the
# namespace the platform uses, with its retention, once the server answers.
# An existing namespace is left as it is (change its retention with
# `temporal operator namespace update --retention`).
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
