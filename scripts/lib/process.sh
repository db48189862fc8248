# Processes of the local networks: each node runs in its own session with its
# pid in .network/<net>/nodes/<node>/pid, so it can be stopped with all its
# children. Source after layout.sh.

# Starts a node in its own session so that `down` can stop it and its
# children; the pid goes to <state>/pid, output to <state>/node.log.
start_node() { # $1 net, $2 node name, $3... command (env assignments first)
    local state
    state="$(node_state_dir "$1" "$2")"
    mkdir -p "$state"
    setsid env "${@:3}" >"$state/node.log" 2>&1 </dev/null &
    echo $! >"$state/pid"
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
