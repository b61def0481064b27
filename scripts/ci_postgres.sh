#!/usr/bin/env bash
# Install and start PostgreSQL 15 on a Debian machine (CI), with a role and database `cappuccino`.
# Idempotent. Prints only non-secret facts. Exits 0 with a message when it cannot act (not root, no apt),
# so the postgres-marked tests then skip with their own reason.
#   Password: $CAPPUCCINO_PG_PASSWORD (default "cappuccino", a throwaway CI password; never echoed).
#   Then: export CAPPUCCINO_TEST_PG_URL=postgresql+psycopg://cappuccino:<pw>@127.0.0.1:5432/cappuccino
set -euo pipefail

PG_VERSION="${PG_VERSION:-15}"
PG_CLUSTER="${PG_CLUSTER:-main}"
PG_ROLE="${PG_ROLE:-cappuccino}"
PG_DB="${PG_DB:-cappuccino}"
PG_PASSWORD="${CAPPUCCINO_PG_PASSWORD:-cappuccino}"

log() { echo "ci_postgres: $*"; }

if [ "$(id -u)" != "0" ]; then
    log "not root: skipping PostgreSQL setup (postgres tests will skip)"
    exit 0
fi

if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ ! -x "/usr/lib/postgresql/${PG_VERSION}/bin/postgres" ]; then
    if ! command -v apt-get >/dev/null 2>&1; then
        log "no apt-get: cannot install PostgreSQL ${PG_VERSION} (postgres tests will skip)"
        exit 0
    fi
    log "installing PostgreSQL ${PG_VERSION} from the distribution's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq "postgresql-${PG_VERSION}" postgresql-client-common >/dev/null \
        || apt-get install -y -qq postgresql >/dev/null
fi

if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -qx "${PG_VERSION} ${PG_CLUSTER}"; then
    log "creating cluster ${PG_VERSION}/${PG_CLUSTER}"
    pg_createcluster "${PG_VERSION}" "${PG_CLUSTER}" >/dev/null
fi

if ! pg_lsclusters -h | awk -v v="${PG_VERSION}" -v c="${PG_CLUSTER}" '$1==v && $2==c {print $4}' | grep -q online; then
    log "starting cluster ${PG_VERSION}/${PG_CLUSTER}"
    pg_ctlcluster "${PG_VERSION}" "${PG_CLUSTER}" start
fi

PORT="$(pg_lsclusters -h | awk -v v="${PG_VERSION}" -v c="${PG_CLUSTER}" '$1==v && $2==c {print $3}')"

# Wait until it accepts connections (up to ~30 s).
for _ in $(seq 1 30); do
    if su postgres -c "pg_isready -q -p ${PORT}"; then break; fi
    sleep 1
done
su postgres -c "pg_isready -q -p ${PORT}" || { log "PostgreSQL did not become ready on port ${PORT}"; exit 1; }

psql_admin() { su postgres -c "psql -v ON_ERROR_STOP=1 -q -X -p ${PORT} -d postgres" >/dev/null; }

# The password travels on stdin, never on a command line or in the log.
psql_admin <<SQL
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${PG_ROLE}') THEN
    CREATE ROLE ${PG_ROLE} LOGIN;
  END IF;
END
\$\$;
ALTER ROLE ${PG_ROLE} WITH LOGIN CREATEDB PASSWORD '${PG_PASSWORD}';
SQL

if ! su postgres -c "psql -tAX -p ${PORT} -d postgres -c \"SELECT 1 FROM pg_database WHERE datname='${PG_DB}'\"" \
        | grep -q 1; then
    su postgres -c "createdb -p ${PORT} -O ${PG_ROLE} ${PG_DB}"
fi

log "PostgreSQL ${PG_VERSION}/${PG_CLUSTER} ready on 127.0.0.1:${PORT}, role and database '${PG_DB}'"
log "export CAPPUCCINO_TEST_PG_URL=postgresql+psycopg://${PG_ROLE}:<password>@127.0.0.1:${PORT}/${PG_DB}"
