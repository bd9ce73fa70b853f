#!/usr/bin/env bash
# Deploys the stack of docker-compose.prod.yml with Docker Compose.
#
#   ./deploy.sh init-secrets [logging]  generate the internal secrets under ./secrets (never overwrites);
#                                   with logging also the API's Elasticsearch settings
#   ./deploy.sh deploy              api, gateway, postgres, redis, redis-http, exporters
#   ./deploy.sh deploy-monitoring   + prometheus, alertmanager, grafana (profile monitoring)
#   ./deploy.sh deploy-logging      + elasticsearch, kibana (profile logging)
#   ./deploy.sh status              services, their state and health
#   ./deploy.sh logs [SERVICE...]   follow the logs (all services when none is named)
set -euo pipefail

cd "$(dirname "$0")"
readonly COMPOSE_FILE=docker-compose.prod.yml
readonly SECRETS_DIR=secrets
readonly HEALTH_TIMEOUT_SECONDS="${HEALTH_TIMEOUT_SECONDS:-300}"

die() {
  echo "deploy.sh: $*" >&2
  exit 1
}

usage() {
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
}

# Docker Compose v2 (`docker compose`) when present, else the standalone v1 (`docker-compose`).
compose_cmd=()
require_docker() {
  command -v docker >/dev/null 2>&1 || die "Docker is not installed (no 'docker' command). Install Docker Engine and the Compose plugin: https://docs.docker.com/engine/install/"
  docker info >/dev/null 2>&1 || die "the Docker daemon is not reachable ('docker info' failed). Start it, or check that this user may use it."
  if docker compose version >/dev/null 2>&1; then
    compose_cmd=(docker compose)
  elif command -v docker-compose >/dev/null 2>&1; then
    compose_cmd=(docker-compose)
  else
    die "Docker Compose is not installed (neither 'docker compose' nor 'docker-compose')."
  fi
}

compose() {
  "${compose_cmd[@]}" -f "$COMPOSE_FILE" "$@"
}

# Fails naming every secret file a profile needs and that is missing or empty.
require_secrets() {
  local missing=() name
  for name in "$@"; do
    [[ -s "$SECRETS_DIR/$name" ]] || missing+=("$SECRETS_DIR/$name")
  done
  if ((${#missing[@]})); then
    die "missing secret files: ${missing[*]}
Run './deploy.sh init-secrets' for the generated ones and write the others (see docs/deploy.md)."
  fi
}

readonly CORE_SECRETS=(api.env gateway.env redis-http.env postgres_password)
readonly MONITORING_SECRETS=(gateway_scrape_password grafana_admin_password smtp_password slack_webhook_url incident_webhook_token)
readonly LOGGING_SECRETS=(kibana.env elastic_password kibana_system_password logs_writer_password logs_reader_password)

# The content of an existing secret file, else a new random secret.
existing_or_random() {
  if [[ -s "$SECRETS_DIR/$1" ]]; then
    tr -d '\n' <"$SECRETS_DIR/$1"
  else
    random_secret
  fi
}

random_secret() {
  # Hex only: safe inside URLs, JSON and env files without quoting.
  od -An -N24 -tx1 /dev/urandom | tr -d ' \n'
}

write_secret() {
  local file="$SECRETS_DIR/$1" content="$2"
  if [[ -e "$file" ]]; then
    echo "  keep     $file"
  elif [[ "$file" == *.env ]]; then
    # env files are read by the Docker daemon only.
    (umask 077 && printf '%s\n' "$content" >"$file")
    echo "  created  $file"
  else
    # Docker secrets outside Swarm are bind mounts that keep the file's mode, and several images run
    # as non-root users (prometheus, grafana, the exporters): the file is world-readable, the
    # directory (mode 700) keeps other users of this host out.
    (umask 022 && printf '%s\n' "$content" >"$file")
    echo "  created  $file"
  fi
}

init_secrets() {
  mkdir -p "$SECRETS_DIR"
  chmod 700 "$SECRETS_DIR"
  local postgres scrape push srh kibana writer
  # Reuse what exists so the env files and the secret files agree.
  postgres="$(existing_or_random postgres_password)"
  scrape="$(existing_or_random gateway_scrape_password)"
  kibana="$(existing_or_random kibana_system_password)"
  writer="$(existing_or_random logs_writer_password)"
  push="$(random_secret)"
  srh="$(random_secret)"

  write_secret postgres_password "$postgres"
  write_secret gateway_scrape_password "$scrape"
  write_secret kibana_system_password "$kibana"
  write_secret logs_writer_password "$writer"
  write_secret logs_reader_password "$(random_secret)"
  write_secret elastic_password "$(random_secret)"
  write_secret grafana_admin_password "$(random_secret)"
  write_secret redis-http.env "SRH_TOKEN=$srh"
  write_secret gateway.env "GATEWAY_PUSH_TOKEN=$push
GATEWAY_SCRAPE_USER=prometheus
GATEWAY_SCRAPE_PASSWORD=$scrape"
  write_secret api.env "DATABASE_URL=postgres://app:$postgres@postgres:5432/app
UPSTASH_REDIS_REST_TOKEN=$srh
PUSHGATEWAY_TOKEN=$push"
  # Only with the logging profile: without Elasticsearch running, the API would count every log line as dropped.
  if [[ "${1:-}" == logging && "$(<"$SECRETS_DIR/api.env")" != *ELASTICSEARCH_URL=* ]]; then
    printf '%s\n' "ELASTICSEARCH_URL=http://elasticsearch:9200" "ELASTICSEARCH_USERNAME=logs_writer" "ELASTICSEARCH_PASSWORD=$writer" >>"$SECRETS_DIR/api.env"
    echo "  extended $SECRETS_DIR/api.env (Elasticsearch)"
  fi
  write_secret kibana.env "ELASTICSEARCH_PASSWORD=$kibana
XPACK_ENCRYPTEDSAVEDOBJECTS_ENCRYPTIONKEY=$(random_secret)"
  # Not generated: they belong to outside services.
  local name
  for name in smtp_password slack_webhook_url incident_webhook_token; do
    [[ -s "$SECRETS_DIR/$name" ]] || echo "  to write $SECRETS_DIR/$name (outside service; see docs/deploy.md)"
  done
}

# Waits until every running service of the selection reports healthy (or has completed, for one-shots).
wait_healthy() {
  local deadline=$((SECONDS + HEALTH_TIMEOUT_SECONDS)) id state pending
  while :; do
    pending=()
    while read -r id; do
      [[ -n "$id" ]] || continue
      state="$(docker inspect -f '{{.Name}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.State.ExitCode}}' "$id")"
      case "$state" in
        *" running healthy "* | *" exited "*" 0") ;;
        *" exited "*) die "service stopped: $state (see ./deploy.sh logs)" ;;
        *) pending+=("$state") ;;
      esac
    done < <(compose "$@" ps -q)
    ((${#pending[@]} == 0)) && return 0
    ((SECONDS < deadline)) || die "not healthy after ${HEALTH_TIMEOUT_SECONDS}s: ${pending[*]}"
    sleep 5
  done
}

deploy() {
  local profiles=("$@")
  compose "${profiles[@]}" build
  compose "${profiles[@]}" up -d --remove-orphans
  wait_healthy "${profiles[@]}"
  compose "${profiles[@]}" ps
}

main() {
  local command="${1:-}"
  [[ $# -gt 0 ]] && shift
  case "$command" in
    init-secrets)
      init_secrets "$@"
      ;;
    deploy)
      require_docker
      require_secrets "${CORE_SECRETS[@]}"
      deploy
      ;;
    deploy-monitoring)
      require_docker
      require_secrets "${CORE_SECRETS[@]}" "${MONITORING_SECRETS[@]}"
      deploy --profile monitoring
      echo "Grafana: http://localhost:${GRAFANA_PORT:-3001}  Prometheus: http://127.0.0.1:${PROMETHEUS_PORT:-9090}  Alertmanager: http://127.0.0.1:${ALERTMANAGER_PORT:-9093}"
      ;;
    deploy-logging)
      require_docker
      require_secrets "${CORE_SECRETS[@]}" "${LOGGING_SECRETS[@]}"
      [[ "$(<"$SECRETS_DIR/api.env")" == *ELASTICSEARCH_URL=* ]] || die "$SECRETS_DIR/api.env has no ELASTICSEARCH_* settings: run './deploy.sh init-secrets logging'"
      deploy --profile logging
      echo "Kibana: http://127.0.0.1:${KIBANA_PORT:-5601}  Elasticsearch: http://127.0.0.1:${ELASTICSEARCH_PORT:-9200}"
      ;;
    status)
      require_docker
      compose --profile monitoring --profile logging ps
      ;;
    logs)
      require_docker
      compose --profile monitoring --profile logging logs --follow --tail=200 "$@"
      ;;
    -h | --help | help)
      usage
      ;;
    '')
      usage >&2
      exit 1
      ;;
    *)
      usage >&2
      die "unknown command '${command}'"
      ;;
  esac
}

main "$@"
