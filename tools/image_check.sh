#!/usr/bin/env bash
# Build the image from the Dockerfile as it is, without a Docker daemon (podman), and run every
# role compose.yaml runs from it (migrate, web, each worker group, beat) against this machine's
# PostgreSQL and Redis. Prints each step and ends with "image-check: PASS" or "image-check: FAIL".
# docs/deploy.md ("Checking the image without a registry") says what it proves and what it does not.
#
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/scratch REDIS_URL=redis://127.0.0.1:6379/9 \
#     tools/image_check.sh            (or: make image-check)
#
# The database is a scratch one: the migrations are applied to it and beat runs against it.
# Settings (environment):
#   IMAGE_CHECK_BASE  auto (default): the Dockerfile's base image if already stored, else pulled,
#                     else a substitute made from Debian packages (no registry needed);
#                     pull: the registry's, or fail; substitute: always the Debian-made one.
#   IMAGE_CHECK_DIR   work folder (substitute root file system, logs, env file): /tmp/image-check
#   IMAGE_CHECK_PORT  host port the web role is published on: 18000
#   IMAGE_CHECK_COMPOSE 1: then also run compose.yaml itself with podman-compose (from PyPI), with
#                     its own PostgreSQL and Redis (pulled, else substitutes from Debian packages),
#                     on host port 8000 as compose.yaml publishes it
#   IMAGE_CHECK_KEEP  1: leave the containers running at the end (default: removed)
#   IMAGE_CHECK_CLEAN 1: also remove the images and the work folder at the end
set -uo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="${IMAGE_CHECK_DIR:-/tmp/image-check}"
BASE_MODE="${IMAGE_CHECK_BASE:-auto}"
PORT="${IMAGE_CHECK_PORT:-18000}"
IMAGE=localhost/leadwise:check
PREFIX=leadwise-check
# Containers reach the host's loopback (where PostgreSQL and Redis listen) through slirp4netns at
# 10.0.2.2, and keep the image's own defaults: gunicorn on :8000, as the HEALTHCHECK expects.
NETWORK=slirp4netns:allow_host_loopback=true
HOST_LOOPBACK=10.0.2.2

step() { printf '\n== %s\n' "$*"; }
fail() {
	printf '\nimage-check: FAIL (%s)\n' "$*"
	exit 1
}

cleanup() {
	[ "${IMAGE_CHECK_KEEP:-0}" = 1 ] && return
	local names
	names=$(podman ps -a --format '{{.Names}}' 2>/dev/null | grep "^$PREFIX-" || true)
	[ -n "$names" ] && podman rm -f -t 5 $names >/dev/null 2>&1
	[ -f "$DIR/compose/compose.yaml" ] && [ -n "${PODMAN_COMPOSE:-}" ] && compose down -v >/dev/null 2>&1
	if [ "${IMAGE_CHECK_CLEAN:-0}" = 1 ]; then
		podman rmi -f "$IMAGE" localhost/leadwise:latest docker.io/library/postgres:16 \
			docker.io/library/redis:7 "$(base_image)" >/dev/null 2>&1
		rm -rf "$DIR"
	fi
	return 0
}

base_image() {
	local name
	name=$(awk 'toupper($1) == "FROM" {print $2; exit}' "$ROOT/Dockerfile")
	case "$name" in
	*/*/*) echo "$name" ;;
	*/*) echo "docker.io/$name" ;;
	*) echo "docker.io/library/$name" ;;
	esac
}

# --- 1. tools -------------------------------------------------------------------------------
tools_ready() {
	step "1. tools: podman, runc, slirp4netns (debootstrap for a substitute base)"
	local missing=()
	command -v podman >/dev/null || missing+=(podman)
	command -v runc >/dev/null || missing+=(runc)
	command -v slirp4netns >/dev/null || missing+=(slirp4netns)
	command -v debootstrap >/dev/null || missing+=(debootstrap)
	if [ ${#missing[@]} -gt 0 ]; then
		[ "$(id -u)" = 0 ] && command -v apt-get >/dev/null ||
			fail "missing ${missing[*]}: install them (Debian: apt-get install ${missing[*]})"
		echo "installing ${missing[*]}"
		apt-get install -y -q "${missing[@]}" >"$DIR/apt.log" 2>&1 ||
			{ apt-get update -q >>"$DIR/apt.log" 2>&1 && apt-get install -y -q "${missing[@]}" >>"$DIR/apt.log" 2>&1; } ||
			fail "apt-get install ${missing[*]}: see $DIR/apt.log"
	fi
	# Machines like the one this was written on: no CAP_SYS_RESOURCE (podman's default of 1048576
	# open files is refused, so ask for the limits we already have) and a hybrid cgroup layout that
	# crun rejects (runc accepts it). An operator's own CONTAINERS_CONF wins.
	if [ -z "${CONTAINERS_CONF:-}" ]; then
		local nofile nproc
		nofile=$(ulimit -Hn)
		nproc=$(ulimit -Hu)
		[ "$nofile" = unlimited ] && nofile=1048576
		[ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ] && nproc=32768
		cat >"$DIR/containers.conf" <<-EOF
			[containers]
			default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
			[engine]
			runtime = "runc"
			cgroup_manager = "cgroupfs"
		EOF
		export CONTAINERS_CONF="$DIR/containers.conf"
	fi
	podman --version
}

# --- 2. base image (skipped when the registry's is stored or can be pulled) --------------------
substitute_base() {
	# Debian's python3.11 arranged like the official python:3.11-slim-bookworm image: python and
	# pip on PATH in /usr/local/bin, pip installing system-wide. This machine's extra certificate
	# authorities (a proxy that inspects TLS) are trusted too, so pip and tools/vendor_assets.py
	# reach PyPI and npm from inside the build as they do from the host.
	local base="$1" rootfs="$DIR/rootfs"
	if [ ! -e "$rootfs/.ready" ]; then
		rm -rf "$rootfs"
		echo "debootstrap bookworm (minbase + python3.11, pip, venv, ca-certificates)"
		debootstrap --variant=minbase --include=python3.11,python3-pip,python3-venv,ca-certificates \
			bookworm "$rootfs" http://deb.debian.org/debian >"$DIR/debootstrap.log" 2>&1 ||
			fail "debootstrap: see $DIR/debootstrap.log"
		ln -sf /usr/bin/python3.11 "$rootfs/usr/local/bin/python"
		ln -sf /usr/bin/python3.11 "$rootfs/usr/local/bin/python3"
		ln -sf /usr/bin/pip3 "$rootfs/usr/local/bin/pip"
		rm -f "$rootfs/usr/lib/python3.11/EXTERNALLY-MANAGED"
		if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
			cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
			chroot "$rootfs" update-ca-certificates >/dev/null 2>&1
		fi
		chroot "$rootfs" apt-get clean
		rm -rf "$rootfs/var/lib/apt/lists/"*
		touch "$rootfs/.ready"
	fi
	echo "importing $rootfs as $base"
	tar -C "$rootfs" --exclude=./.ready -c . | podman import --quiet \
		--change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'ENV LANG=C.UTF-8' --change 'LABEL leadwise.substitute=debian-bookworm' \
		--change 'CMD ["python3"]' - "$base" >/dev/null || fail "podman import of the substitute base"
}

base_ready() {
	local base
	base=$(base_image)
	step "2. base image $base (IMAGE_CHECK_BASE=$BASE_MODE)"
	if [ "$BASE_MODE" != substitute ] && podman image exists "$base"; then
		echo "stored already: $(podman image inspect --format '{{index .Labels "leadwise.substitute"}}' "$base" | sed 's/^$/from the registry/; s/^debian/substitute from debian/')"
		return
	fi
	if [ "$BASE_MODE" != substitute ]; then
		echo "pulling $base"
		timeout 120 podman pull --quiet "$base" >/dev/null 2>"$DIR/pull.log" && return
		[ "$BASE_MODE" = pull ] && fail "podman pull $base: $(tail -1 "$DIR/pull.log")"
		echo "no registry: $(tail -1 "$DIR/pull.log")"
	fi
	substitute_base "$base"
}

# --- 3. build ---------------------------------------------------------------------------------
build() {
	step "3. podman build --format docker -t $IMAGE $ROOT (the Dockerfile as it is)"
	local started=$SECONDS previous
	previous=$(podman image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null)
	# docker format keeps the HEALTHCHECK (OCI images have no such field).
	podman build --format docker -t "$IMAGE" "$ROOT" >"$DIR/build.log" 2>&1 ||
		fail "build: $(tail -3 "$DIR/build.log")"
	# The previous build, now untagged (refused, and kept, while another tag or container uses it).
	[ -n "$previous" ] && podman rmi "$previous" >/dev/null 2>&1
	echo "built in $((SECONDS - started)) s; image size $(podman image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1 / 1e6}')"
	podman run --rm --no-healthcheck "$IMAGE" test -s staticfiles/vendor/htmx.min.js ||
		fail "the image has no staticfiles/vendor/htmx.min.js (vendor_assets or collectstatic)"
	echo "static files: $(podman run --rm --no-healthcheck "$IMAGE" sh -c 'find staticfiles -type f | wc -l') under /app/staticfiles, htmx included"
}

# --- 4. roles ---------------------------------------------------------------------------------
container_url() {
	# The host's 127.0.0.1 / localhost, as the containers see it.
	echo "$1" | sed -E "s#@(127\.0\.0\.1|localhost)([:/])#@$HOST_LOOPBACK\2#; s#^(redis://)(127\.0\.0\.1|localhost)([:/])#\1$HOST_LOOPBACK\3#"
}

env_file() {
	[ -n "${DATABASE_URL:-}" ] && [ -n "${REDIS_URL:-}" ] ||
		fail "set DATABASE_URL and REDIS_URL (TCP, on this machine) to a scratch database and Redis index"
	local key fernet
	key=$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')
	fernet=$(python3 -c 'import base64, secrets; print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())')
	# Throwaway secrets, made per run, only in this file (never in the image).
	umask 077
	cat >"$DIR/app.env" <<-EOF
		DATABASE_URL=$(container_url "$DATABASE_URL")
		REDIS_URL=$(container_url "$REDIS_URL")
		SECRET_KEY=$key
		TOKEN_ENCRYPTION_KEYS=$fernet
		PLATFORM_HOSTS=localhost,web
	EOF
}

# One line per service built from our image: name, "-" or "no-healthcheck", then its command
# (shell-quoted; empty for the image's CMD), read from compose.yaml by the image's own Python.
compose_roles() {
	podman run --rm --no-healthcheck "$IMAGE" python -c '
import shlex, yaml
services = yaml.safe_load(open("compose.yaml"))["services"]
for name, service in services.items():
    if "build" not in service:
        continue
    command = service.get("command") or []
    words = shlex.split(command) if isinstance(command, str) else command
    health = "no-healthcheck" if (service.get("healthcheck") or {}).get("disable") else "-"
    print(name, health, shlex.join(words))
'
}

run_role() {
	local name="$1" health="$2" command="$3" extra=()
	local -a words=()
	eval "words=($command)"
	[ "$health" = no-healthcheck ] && extra+=(--no-healthcheck)
	[ "$name" = web ] && extra+=(-p "127.0.0.1:$PORT:8000")
	podman rm -f "$PREFIX-$name" >/dev/null 2>&1
	podman run -d --name "$PREFIX-$name" --hostname "$name" --network "$NETWORK" \
		--env-file "$DIR/app.env" "${extra[@]}" "$IMAGE" "${words[@]}" >/dev/null 2>"$DIR/$name.run.log" ||
		fail "podman run $name: $(tail -1 "$DIR/$name.run.log")"
}

# Beat's schedule has tasks every minute: wait for one to be sent, then for a worker to run it.
beat_task_ran() {
	local beat="$1" sent="" task="" ran="" i
	shift
	for i in $(seq 120); do
		sent=$(podman logs "$beat" 2>&1 | grep -m1 -o 'Sending due task .*' || true)
		task=$(echo "$sent" | sed -nE 's/.*\((.+)\)$/\1/p')
		[ -n "$task" ] && ran=$(for worker in "$@"; do
			podman logs "$worker" 2>&1 | grep -F "Task ${task}[" | grep -m1 -F ' succeeded in ' |
				sed -E "s/^\[[^]]+\] /$worker: /"
		done | head -1)
		[ -n "$ran" ] && break
		sleep 1
	done
	echo "beat: ${sent:-nothing sent}"
	echo "worker: ${ran:-did not run ${task:-it}}"
	[ -n "$ran" ] || fail "beat sent '${sent}', no worker ran it"
}

roles_run() {
	step "4. the roles of compose.yaml, on the host's PostgreSQL and Redis"
	env_file
	local name health command roles
	roles=$(compose_roles) || fail "reading compose.yaml inside the image"
	echo "$roles" | sed 's/^/   /'
	# migrate first, to completion, as compose's service_completed_successfully does.
	command=$(echo "$roles" | awk '$1 == "migrate" {$1 = $2 = ""; sub(/^ +/, ""); print}')
	[ -n "$command" ] || fail "compose.yaml has no migrate service"
	local -a words=()
	eval "words=($command)"
	podman run --rm --no-healthcheck --network "$NETWORK" --env-file "$DIR/app.env" "$IMAGE" \
		"${words[@]}" >"$DIR/migrate.log" 2>&1 || fail "migrate: $(tail -3 "$DIR/migrate.log")"
	echo "migrate: exit 0 ($(grep -c '  Applying ' "$DIR/migrate.log") migrations applied)"
	while read -r -u 3 name health command; do
		[ "$name" = migrate ] && continue
		run_role "$name" "$health" "$command"
	done 3<<<"$roles"

	# web: readiness through the published port, then the image's own HEALTHCHECK.
	local code="" i
	for i in $(seq 60); do
		code=$(curl -s -o "$DIR/readyz.json" -w '%{http_code}' -H 'Host: localhost' "http://127.0.0.1:$PORT/readyz")
		[ "$code" = 200 ] && break
		sleep 1
	done
	echo "web: GET /readyz -> $code after ${i} s: $(cat "$DIR/readyz.json" 2>/dev/null)"
	[ "$code" = 200 ] || fail "web /readyz answered '$code'; podman logs $PREFIX-web"
	code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: localhost' -H 'X-Forwarded-Proto: https' \
		"http://127.0.0.1:$PORT/static/vendor/htmx.min.js")
	echo "web: GET /static/vendor/htmx.min.js -> $code (whitenoise)"
	[ "$code" = 200 ] || fail "static file answered $code"

	# Each worker answers a ping on its own name, and a task beat sends is run by a worker.
	local pinged=0 workers=0
	while read -r -u 3 name health command; do
		case "$command" in *" worker "*) ;; *) continue ;; esac
		workers=$((workers + 1))
		for i in $(seq 30); do
			podman exec "$PREFIX-$name" celery -A saas_platform inspect ping -d "celery@$name" \
				--timeout 3 >"$DIR/$name.ping.log" 2>&1 && break
			sleep 2
		done
		if grep -q pong "$DIR/$name.ping.log"; then
			pinged=$((pinged + 1))
			echo "$name: celery inspect ping -> pong"
		else
			echo "$name: no pong: $(tail -2 "$DIR/$name.ping.log")"
		fi
	done 3<<<"$roles"
	[ "$pinged" = "$workers" ] || fail "$pinged of $workers worker groups answered the ping"

	local -a worker_containers
	mapfile -t worker_containers < <(echo "$roles" | awk -v p="$PREFIX-" '$1 ~ /^worker/ {print p $1}')
	beat_task_ran "$PREFIX-beat" "${worker_containers[@]}"

	# Every container still runs, and each that has a healthcheck passes it.
	local state
	while read -r -u 3 name health command; do
		[ "$name" = migrate ] && continue
		state=$(podman inspect --format '{{.State.Status}}' "$PREFIX-$name")
		[ "$state" = running ] || fail "$name is $state: podman logs $PREFIX-$name"
		if [ "$health" = no-healthcheck ]; then
			echo "$name: running (no healthcheck, as compose.yaml says)"
		elif podman healthcheck run "$PREFIX-$name" >/dev/null 2>&1; then
			echo "$name: running, image HEALTHCHECK healthy"
		else
			fail "$name: the image's HEALTHCHECK fails in this role"
		fi
	done 3<<<"$roles"
}

# --- 5. compose.yaml itself, with podman-compose (IMAGE_CHECK_COMPOSE=1) ------------------------
substitute_service() {
	# Debian's PostgreSQL 15 and Redis 7.0 on the base image, keeping the official images' contract
	# that compose.yaml relies on: POSTGRES_USER/_PASSWORD/_DB, pg_isready, redis-cli, /data.
	local image="$1" dir="$DIR/substitutes"
	mkdir -p "$dir"
	case "$image" in
	*/postgres:*)
		cat >"$dir/postgres-entrypoint.sh" <<-'EOF'
			#!/bin/sh
			set -e
			mkdir -p "$PGDATA" /run/postgresql
			chown -R postgres:postgres "$PGDATA" /run/postgresql
			chmod 700 "$PGDATA"
			as_pg() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
			if [ ! -s "$PGDATA/PG_VERSION" ]; then
				echo "$POSTGRES_PASSWORD" >/tmp/pwfile && chown postgres /tmp/pwfile
				as_pg initdb -D "$PGDATA" -U "${POSTGRES_USER:-postgres}" --pwfile=/tmp/pwfile \
					--auth-host=scram-sha-256 --auth-local=trust >/dev/null
				rm -f /tmp/pwfile
				echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
				as_pg pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
				as_pg createdb -U "${POSTGRES_USER:-postgres}" "${POSTGRES_DB:-${POSTGRES_USER:-postgres}}" || true
				as_pg pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
			fi
			[ "$1" = postgres ] && shift && exec setpriv --reuid=postgres --regid=postgres --init-groups \
				postgres -D "$PGDATA" -c listen_addresses='*' "$@"
			exec "$@"
		EOF
		cat >"$dir/Containerfile.postgres" <<-EOF
			FROM $(base_image)
			RUN apt-get update -q && apt-get install -y -q --no-install-recommends postgresql-15 \
			    && rm -rf /var/lib/apt/lists/*
			ENV PATH=/usr/lib/postgresql/15/bin:\$PATH PGDATA=/var/lib/postgresql/data
			COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
			ENTRYPOINT ["docker-entrypoint.sh"]
			CMD ["postgres"]
			STOPSIGNAL SIGINT
		EOF
		;;
	*/redis:*)
		# As the official image: with no config file, every interface and no protected mode.
		cat >"$dir/redis-entrypoint.sh" <<-'EOF'
			#!/bin/sh
			[ "$1" = redis-server ] && shift && exec redis-server --protected-mode no --bind '* -::*' "$@"
			exec "$@"
		EOF
		cat >"$dir/Containerfile.redis" <<-EOF
			FROM $(base_image)
			RUN apt-get update -q && apt-get install -y -q --no-install-recommends redis-server \
			    && rm -rf /var/lib/apt/lists/*
			COPY redis-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
			WORKDIR /data
			ENTRYPOINT ["docker-entrypoint.sh"]
			CMD ["redis-server"]
		EOF
		;;
	*) fail "no substitute for $image: pull it or run without IMAGE_CHECK_COMPOSE" ;;
	esac
	chmod +x "$dir"/*-entrypoint.sh
	local kind="${image##*/}"
	kind="${kind%%:*}"
	echo "building a substitute $image from Debian's $kind"
	podman build --format docker -f "$dir/Containerfile.$kind" -t "$image" "$dir" \
		>"$DIR/substitute-$kind.log" 2>&1 || fail "substitute $image: see $DIR/substitute-$kind.log"
}

compose() { "$PODMAN_COMPOSE" -p "$PREFIX" -f "$DIR/compose/compose.yaml" "$@"; }

compose_run() {
	step "5. compose.yaml with podman-compose: its own PostgreSQL, Redis, network and .env"
	# Step 4's containers make way (they share the host's CPU with the second set).
	podman ps -a --format '{{.Names}}' | grep "^$PREFIX-" | xargs -r podman rm -f -t 5 >/dev/null 2>&1
	PODMAN_COMPOSE=$(command -v podman-compose || echo "$DIR/venv/bin/podman-compose")
	if [ ! -x "$PODMAN_COMPOSE" ]; then
		python3 -m venv "$DIR/venv" && "$DIR/venv/bin/pip" install -q podman-compose==1.6.0 \
			>"$DIR/pip.log" 2>&1 || fail "pip install podman-compose: see $DIR/pip.log"
	fi
	"$PODMAN_COMPOSE" --version 2>/dev/null | head -1
	local image
	for image in $(podman run --rm --no-healthcheck "$IMAGE" python -c '
import yaml
for service in yaml.safe_load(open("compose.yaml"))["services"].values():
    if "build" not in service and not service.get("profiles"):
        name = service["image"]
        print(name if "/" in name.split(":")[0] else "docker.io/library/" + name)
'); do
		podman image exists "$image" && continue
		[ "$BASE_MODE" != substitute ] && timeout 120 podman pull --quiet "$image" >/dev/null 2>&1 && continue
		substitute_service "$image"
	done
	# A project folder of its own: compose.yaml as committed, and the .env an operator makes by
	# copying .env.example and filling in the two secrets.
	mkdir -p "$DIR/compose"
	cp "$ROOT/compose.yaml" "$DIR/compose/"
	{
		grep -vE '^(SECRET_KEY|TOKEN_ENCRYPTION_KEYS)=' "$ROOT/.env.example"
		grep -E '^(SECRET_KEY|TOKEN_ENCRYPTION_KEYS)=' "$DIR/app.env"
	} >"$DIR/compose/.env"
	podman tag "$IMAGE" localhost/leadwise:latest
	compose down -v >/dev/null 2>&1
	# podman 4.3 (Debian 12) has no `wait --condition=healthy` and, without systemd, runs no
	# healthcheck by itself: start in compose's order, running the healthchecks here.
	compose up -d --no-build postgres redis >"$DIR/compose-up.log" 2>&1 || fail "compose up postgres redis"
	local i
	for i in $(seq 60); do
		podman healthcheck run "${PREFIX}_postgres_1" >/dev/null 2>&1 &&
			podman healthcheck run "${PREFIX}_redis_1" >/dev/null 2>&1 && break
		sleep 1
	done
	echo "postgres, redis: healthy after $i s"
	compose up -d --no-build --no-deps migrate >>"$DIR/compose-up.log" 2>&1 || fail "compose up migrate"
	local status
	status=$(podman wait "${PREFIX}_migrate_1")
	echo "migrate: exit $status ($(podman logs "${PREFIX}_migrate_1" 2>&1 | grep -c '  Applying ') migrations applied)"
	[ "$status" = 0 ] || fail "migrate exited $status: podman logs ${PREFIX}_migrate_1"
	local services
	services=$(podman run --rm --no-healthcheck "$IMAGE" python -c '
import yaml
services = yaml.safe_load(open("compose.yaml"))["services"]
print(" ".join(n for n, s in services.items() if "build" in s and n != "migrate"))')
	compose up -d --no-build --no-deps $services >>"$DIR/compose-up.log" 2>&1 || fail "compose up $services"
	local code=""
	for i in $(seq 60); do
		code=$(curl -s -o "$DIR/readyz.json" -w '%{http_code}' -H 'Host: localhost' http://127.0.0.1:8000/readyz)
		[ "$code" = 200 ] && break
		sleep 1
	done
	echo "web: GET :8000/readyz -> $code after ${i} s: $(cat "$DIR/readyz.json" 2>/dev/null)"
	[ "$code" = 200 ] || fail "web /readyz answered '$code'"
	local module
	module=$(podman exec "${PREFIX}_web_1" python -c \
		'import django; django.setup(); from django.conf import settings; print(settings.SETTINGS_MODULE)')
	echo "web: settings $module (the .env names saas_platform.settings.local)"
	[ "$module" = saas_platform.settings.production ] || fail "compose runs $module"
	podman healthcheck run "${PREFIX}_web_1" >/dev/null 2>&1 || fail "web's HEALTHCHECK fails"
	echo "web: image HEALTHCHECK healthy"
	local workers nodes
	workers=$(echo "$services" | tr ' ' '\n' | grep -c '^worker')
	for i in $(seq 30); do
		nodes=$(podman exec "${PREFIX}_web_1" celery -A saas_platform inspect ping --timeout 3 2>/dev/null |
			grep -oE '^[0-9]+ nodes? online' || true)
		[ "${nodes%% *}" = "$workers" ] && break
		sleep 2
	done
	echo "workers: celery inspect ping -> ${nodes:-none online} (compose.yaml has $workers worker groups)"
	[ "${nodes%% *}" = "$workers" ] || fail "$workers worker groups, ${nodes:-none} answered"
	local -a worker_containers
	mapfile -t worker_containers < <(echo "$services" | tr ' ' '\n' | grep '^worker' | sed "s/^/${PREFIX}_/; s/$/_1/")
	beat_task_ran "${PREFIX}_beat_1" "${worker_containers[@]}"
}

mkdir -p "$DIR"
trap cleanup EXIT
started=$SECONDS
tools_ready
base_ready
build
roles_run
[ "${IMAGE_CHECK_COMPOSE:-0}" = 1 ] && compose_run
printf '\nimage-check: PASS (%s s)\n' "$((SECONDS - started))"
