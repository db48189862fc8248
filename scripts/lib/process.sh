# Processes of the local networks: each node runs in its own session with its
# pid in .network/<net>/nodes/<node>/pid, so it can be stopped with all its
# children. Source after layout.sh.

# Starts a node in its own session so that `down` can stop it and its
# children; the pid goes to <state>/pid, output to <state>/node.log.
start_node() { # $1 net, $2 node name, $3... command (env assignments first)
    local state
    state="$(node_state_dir "$1" "$2")"
    mkdir -p "$state"
    # The command, for `network.sh start` after a `stop`.
    printf '%q ' "${@:3}" >"$state/command"
    setsid env "${@:3}" >"$state/node.log" 2>&1 </dev/null &
    echo $! >"$state/pid"
}

# Waits until node $2 of $1 accepts TCP connections on 127.0.0.1:$3; fails
# as soon as its process exits, or after 30 s.
wait_listening() { # $1 net, $2 node name, $3 port
    local deadline=$((SECONDS + 30)) state
    state="$(node_state_dir "$1" "$2")"
    until (: >"/dev/tcp/127.0.0.1/$3") 2>/dev/null; do
        kill -0 "$(cat "$state/pid")" 2>/dev/null || die "$2 ($1) exited; see $state/node.log"
        ((SECONDS < deadline)) || die "$2 ($1) not listening on port $3 after 30s"
        sleep 0.2
    done
}

# Starts a node again with the command start_node recorded for it.
restart_node() { # $1 net, $2 node name
    local state command
    state="$(node_state_dir "$1" "$2")"
    command="$(cat "$state/command")" || die "no recorded command for $2 ($1)"
    eval "start_node \"\$1\" \"\$2\" $command"
}

# Pids recorded by start_node for the nodes of one network.
network_pids() { # $1 net
    local pidfile pid
    for pidfile in "$NETWORK_HOME/$1"/nodes/*/pid; do
        [[ -f "$pidfile" ]] || continue
        pid="$(cat "$pidfile")"
        [[ "$pid" =~ ^[0-9]+$ ]] && echo "$pid"
    done
}

# Pids recorded by start_node for every node of both networks.
recorded_pids() {
    local pidfile pid
    for pidfile in "$NETWORK_HOME"/*/nodes/*/pid; do
        [[ -f "$pidfile" ]] || continue
        pid="$(cat "$pidfile")"
        [[ "$pid" =~ ^[0-9]+$ ]] && echo "$pid"
    done
}

# Whether any recorded node of the networks in NETWORK_HOME is alive.
# Waits until process $1 is gone and returns its exit status: `wait`
# returns early when a trapped signal arrives (one the caller forwards to
# it), so it is waited for again until it has exited.
wait_until_gone() {
    local status=0
    while kill -0 "$1" 2>/dev/null; do
        wait "$1" || status=$?
    done
    return "$status"
}

networks_running() {
    local pid
    for pid in $(recorded_pids); do kill -0 "$pid" 2>/dev/null && return 0; done
    return 1
}

# Stops the given node sessions: TERM to all first (each takes about 2 s to
# stop gracefully), then KILL whatever is still alive after 10 s.
stop_nodes() { # $@ pids
    local pid alive
    for pid in "$@"; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true; done
    for _ in $(seq 100); do
        alive=0
        for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        ((alive)) || return 0
        sleep 0.1
    done
    for pid in "$@"; do kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; done
}
