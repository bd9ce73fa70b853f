#!/usr/bin/env bash
# Run once per `deploy.sh deploy-logging` by the elasticsearch-setup service (docker-compose.prod.yml):
# sets the kibana_system password and creates the least-privilege users of the stack. Idempotent.
#   logs_writer  the API's log shipper: create documents in the logs-api-* data streams
#   logs_reader  Grafana's Elasticsearch datasource: read logs-api-*
# Passwords come from docker secrets and never appear on a command line (netrc and stdin instead).
set -euo pipefail

es_url="${ELASTICSEARCH_URL:-http://elasticsearch:9200}"
secret() { tr -d '\r\n' <"/run/secrets/$1"; }

elastic_password="$(secret elastic_password)"
es_host="$(printf '%s' "$es_url" | sed -E 's#^[a-z]+://([^:/]+).*#\1#')"

# curl as the elastic superuser, the JSON body on stdin.
es() {
  local method="$1" path="$2"
  curl --silent --show-error --fail-with-body \
    --netrc-file <(printf 'machine %s login elastic password %s\n' "$es_host" "$elastic_password") \
    -X "$method" -H 'Content-Type: application/json' --data-binary @- "$es_url$path"
  echo
}

echo "[elasticsearch-setup] waiting for $es_url"
for _ in $(seq 1 60); do
  if printf '' | es GET /_cluster/health >/dev/null 2>&1; then break; fi
  sleep 2
done

printf '{"password":"%s"}' "$(secret kibana_system_password)" | es POST /_security/user/kibana_system/_password

printf '%s' '{"indices":[{"names":["logs-api-*"],"privileges":["create_doc","auto_configure","view_index_metadata"]}]}' \
  | es PUT /_security/role/logs_writer
printf '%s' '{"indices":[{"names":["logs-api-*"],"privileges":["read","view_index_metadata"]}]}' \
  | es PUT /_security/role/logs_reader

printf '{"password":"%s","roles":["logs_writer"],"full_name":"API log shipper"}' "$(secret logs_writer_password)" \
  | es PUT /_security/user/logs_writer
printf '{"password":"%s","roles":["logs_reader"],"full_name":"Grafana logs datasource"}' "$(secret logs_reader_password)" \
  | es PUT /_security/user/logs_reader

touch /tmp/users-ready
echo "[elasticsearch-setup] users ready"
