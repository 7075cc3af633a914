#!/bin/sh
# The connector of docker-compose.yml: a listener printing, live, every event its
# stakeholder may see, through the proxy — `crisis-hub watch`, the stream client
# that exists today (a TAXII pull/push connector comes later).
#
# Its token: CRISIS_HUB_TOKEN if set; else the one kept in its volume; else a new
# one created for CONNECTOR_STAKEHOLDER straight in Redis (`crisis-hub token create`
# needs no running hub) and kept for the next start. Revoke it with
# `crisis-hub token revoke`, then delete /var/lib/crisis-hub/connector.token.
set -eu
umask 077
token_file=/var/lib/crisis-hub/connector.token
if [ -z "${CRISIS_HUB_TOKEN:-}" ]; then
    if [ ! -s "$token_file" ]; then
        crisis-hub token create "$CONNECTOR_STAKEHOLDER" --label compose-connector >"$token_file.new"
        tail -n 1 "$token_file.new" >"$token_file" && rm -f "$token_file.new"
    fi
    CRISIS_HUB_TOKEN=$(cat "$token_file")
    export CRISIS_HUB_TOKEN
fi
set --
for channel in $CONNECTOR_CHANNELS; do
    set -- "$@" --channel "$channel"
done
exec crisis-hub watch "$@"
