# Sourced by .ci/run: install PostgreSQL from the Debian packages, start its cluster, make
# a role and database for the tests, and export EVALKIT_TEST_POSTGRES_URL. Safe to run
# again on a machine where any of that is already done. Without root or apt-get it warns,
# and the PostgreSQL tests skip saying why.
_evalkit_pg_setup() {
    local sudo=""
    if [ "$(id -u)" != 0 ]; then
        if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
            echo "postgres: not root and no sudo; PostgreSQL tests will be skipped" >&2; return 0; fi
    fi
    if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
        if ! command -v apt-get >/dev/null; then
            echo "postgres: no apt-get; PostgreSQL tests will be skipped" >&2; return 0; fi
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
    fi
    local version
    version=$(ls /usr/lib/postgresql | sort -V | tail -n1)
    if ! $sudo pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$version main"; then
        $sudo pg_createcluster "$version" main >/dev/null
    fi
    if ! $sudo pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $4}' | grep -q online; then
        $sudo pg_ctlcluster "$version" main start
    fi
    local port
    port=$($sudo pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $3}')
    _pg() { if [ -z "$sudo" ]; then su postgres -c "psql -p $port -v ON_ERROR_STOP=1 -qtA -c \"$1\""; \
            else $sudo -u postgres psql -p "$port" -v ON_ERROR_STOP=1 -qtA -c "$1"; fi; }
    if [ "$(_pg "SELECT 1 FROM pg_roles WHERE rolname='evalkit'")" != 1 ]; then
        _pg "CREATE ROLE evalkit LOGIN PASSWORD 'evalkit' CREATEDB"
    fi
    if [ "$(_pg "SELECT 1 FROM pg_database WHERE datname='evalkit'")" != 1 ]; then
        _pg "CREATE DATABASE evalkit OWNER evalkit"
    fi
    export EVALKIT_TEST_POSTGRES_URL="postgresql://evalkit:evalkit@127.0.0.1:$port/evalkit"
    echo "postgres: $version on port $port; EVALKIT_TEST_POSTGRES_URL set" >&2
}
_evalkit_pg_setup
