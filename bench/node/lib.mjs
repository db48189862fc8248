// The parts of gateway-load.mjs that touch neither the network nor the
// Fabric client, so `node --test bench/node/test/` runs without npm packages.

import { parseArgs } from 'node:util';

const FLAGS = {
    network: { type: 'string', default: '.network/net1/network.json' },
    org: { type: 'string', default: 'org1' },
    peer: { type: 'string', default: '' },
    user: { type: 'string', default: 'User1' },
    channel: { type: 'string', default: '' },
    chaincode: { type: 'string', default: 'showcase' },
    submits: { type: 'string', default: '100' },
    evaluates: { type: 'string', default: '100' },
    concurrency: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '10' },
    'value-size': { type: 'string', default: '64' },
    'key-prefix': { type: 'string', default: '' },
    'get-prefix': { type: 'string', default: '' },
    'get-keys': { type: 'string', default: '0' },
};

/** A whole number from 0 (or from `least`), or an error naming the flag. */
function count(values, name, least = 0) {
    const text = values[name];
    if (!/^[0-9]{1,9}$/.test(text) || Number(text) < least) {
        throw new Error(`--${name} must be a whole number from ${least}, not ${JSON.stringify(text)}`);
    }
    return Number(text);
}

export function parseOptions(argv) {
    const { values } = parseArgs({ args: argv, options: FLAGS, strict: true, allowPositionals: false });
    const o = {
        network: values.network,
        org: values.org,
        peer: values.peer,
        user: values.user,
        channel: values.channel,
        chaincode: values.chaincode,
        submits: count(values, 'submits'),
        evaluates: count(values, 'evaluates'),
        concurrency: count(values, 'concurrency', 1),
        warmup: count(values, 'warmup'),
        valueSize: count(values, 'value-size'),
        keyPrefix: values['key-prefix'] || `load-${process.hrtime.bigint()}-${process.pid}`,
        getKeys: count(values, 'get-keys'),
    };
    o.getPrefix = values['get-prefix'] || o.keyPrefix;
    if (o.getKeys === 0) {
        o.getKeys = o.submits;
    }
    if (o.evaluates > 0 && o.getKeys === 0) {
        throw new Error('evaluates need keys to read: give --submits, or --get-prefix and --get-keys');
    }
    return o;
}

/** The peer and user of `o` in a network description (scripts/network.sh's network.json). */
export function choose(description, o) {
    const org = (description.organizations ?? []).find((x) => x.name === o.org || x.msp_id === o.org);
    if (!org) {
        throw new Error(`no organisation ${o.org} in ${o.network}`);
    }
    const peers = org.peers ?? [];
    const peer = o.peer ? peers.find((p) => p.name === o.peer) : peers[0];
    if (!peer) {
        throw new Error(o.peer ? `organisation ${o.org} has no peer ${o.peer}` : `organisation ${o.org} has no peers`);
    }
    const user = (org.users ?? []).find((u) => u.name === o.user);
    if (!user) {
        throw new Error(`organisation ${o.org} has no user ${o.user}`);
    }
    return { mspId: org.msp_id, peer, user, channel: o.channel || description.channel };
}

/** Makes `n` calls of `call(i)` with `k` in flight; returns how many failed. */
export async function runCalls(n, k, call, errors) {
    let next = 0;
    let failed = 0;
    const worker = async () => {
        for (let i = next++; i < n; i = next++) {
            try {
                await call(i);
            } catch (err) {
                failed += 1;
                errors.first ??= String(err?.message ?? err).replaceAll('\n', ' ');
            }
        }
    };
    await Promise.all(Array.from({ length: Math.min(k, n) }, worker));
    return failed;
}

/** Runs one phase and returns its CPU and wall time, in the report's shape. */
export async function measure(n, k, call, errors) {
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const failed = await runCalls(n, k, call, errors);
    const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const cpu = process.cpuUsage(cpu0);
    return {
        count: n,
        errors: failed,
        cpu_ms: (cpu.user + cpu.system) / 1000,
        user_ms: cpu.user / 1000,
        sys_ms: cpu.system / 1000,
        wall_ms: wallMs,
    };
}
