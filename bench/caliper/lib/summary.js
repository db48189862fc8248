'use strict';
// The summary of a Caliper run: from the workloads' samples, each round's
// committed transactions per second and latency percentiles (the Rust
// benchmark's definitions: rate = succeeded / (last finish - first start),
// nearest-rank percentiles), beside Caliper's own throughput and average
// latency from its report; optionally compared with a `throughput.csv` of
// `scripts/bench.sh --bench throughput` from the same session.

const fs = require('fs');
const path = require('path');
const { parseLabel } = require('./benchmark');

/** Nearest-rank percentile `p` (0-100) of sorted `values`. */
function percentile(sorted, p) {
    if (sorted.length === 0) {
        return NaN;
    }
    const rank = Math.ceil((p / 100) * sorted.length);
    return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/**
 * One round's figures from its samples `[created ms, finished ms, ok]`.
 * @param {number[][]} samples every worker's samples of the round
 * @returns {object} succeeded, failed, seconds, per_second, mean/p50/p95/p99/max ms
 */
function figures(samples) {
    const ok = samples.filter((s) => s[2] === 1);
    const latencies = ok.map((s) => s[1] - s[0]).sort((a, b) => a - b);
    const first = Math.min(...samples.map((s) => s[0]));
    const last = Math.max(...samples.map((s) => s[1]));
    const seconds = samples.length > 0 ? (last - first) / 1000 : 0;
    const mean = latencies.reduce((sum, l) => sum + l, 0) / (latencies.length || NaN);
    return {
        succeeded: ok.length,
        failed: samples.length - ok.length,
        seconds,
        per_second: seconds > 0 ? ok.length / seconds : 0,
        mean_ms: mean,
        p50_ms: percentile(latencies, 50),
        p95_ms: percentile(latencies, 95),
        p99_ms: percentile(latencies, 99),
        max_ms: latencies.length ? latencies[latencies.length - 1] : NaN,
    };
}

/** Every measured round's samples in `dir`, by label. */
function readSamples(dir) {
    const rounds = new Map();
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
        const content = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
        if (!parseLabel(content.label) || !Array.isArray(content.samples)) {
            continue;
        }
        rounds.set(content.label, (rounds.get(content.label) || []).concat(content.samples));
    }
    return rounds;
}

/**
 * Caliper's summary table from its HTML report: per round label, its
 * throughput (TPS) and average latency (s) as Caliper computes them.
 * @param {string} html report.html
 * @returns {Map<string, {tps: number, avg_latency_s: number, succ: number, fail: number}>}
 */
function readReport(html) {
    const rows = new Map();
    const table = /<table[^>]*>([\s\S]*?)<\/table>/.exec(html);
    if (!table) {
        return rows;
    }
    const header = [...table[1].matchAll(/<th[^>]*>([\s\S]*?)<\/th>/g)].map((m) => m[1].trim());
    const column = (name) => header.findIndex((h) => h.startsWith(name));
    const at = { name: column('Name'), succ: column('Succ'), fail: column('Fail'), avg: column('Avg Latency'), tps: column('Throughput') };
    for (const row of table[1].matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/g)) {
        const cells = [...row[1].matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((m) => m[1].trim());
        if (cells.length === header.length && at.name >= 0) {
            rows.set(cells[at.name], {
                succ: Number(cells[at.succ]),
                fail: Number(cells[at.fail]),
                avg_latency_s: Number(cells[at.avg]),
                tps: Number(cells[at.tps]),
            });
        }
    }
    return rows;
}

/** Rows of our `throughput.csv` by `<kind>-x<level>`. */
function readOurs(csvText) {
    const lines = csvText.trim().split('\n');
    const header = lines[0].split(',');
    const rows = new Map();
    for (const line of lines.slice(1)) {
        const cells = line.split(',');
        const row = Object.fromEntries(header.map((h, i) => [h, cells[i]]));
        rows.set(`${row.kind}-x${row.level}`, {
            per_second: Number(row.per_second),
            mean_ms: Number(row.mean_ms),
            p50_ms: Number(row.p50_ms),
            p95_ms: Number(row.p95_ms),
            p99_ms: Number(row.p99_ms),
        });
    }
    return rows;
}

/**
 * The summary's rows, one per measured round, ordered by level then kind.
 * @param {Map} samples from readSamples
 * @param {Map} report from readReport
 * @param {Map|undefined} ours from readOurs
 * @returns {object[]} rows
 */
function summarize(samples, report, ours) {
    const rows = [];
    for (const [label, roundSamples] of samples) {
        const { kind, level } = parseLabel(label);
        const row = { kind, level, ...figures(roundSamples) };
        const caliper = report.get(label);
        row.caliper_tps = caliper ? caliper.tps : NaN;
        row.caliper_avg_ms = caliper ? caliper.avg_latency_s * 1000 : NaN;
        const our = ours && ours.get(label);
        if (our) {
            row.ours_per_second = our.per_second;
            row.ours_p50_ms = our.p50_ms;
            row.ours_mean_ms = our.mean_ms;
            row.rate_ratio = row.per_second / our.per_second;
            row.p50_ratio = row.p50_ms / our.p50_ms;
        }
        rows.push(row);
    }
    rows.sort((a, b) => a.level - b.level || a.kind.localeCompare(b.kind));
    // PutEhr against Put at the same level, in each driver.
    for (const row of rows.filter((r) => r.kind === 'PutEhr')) {
        const put = rows.find((r) => r.kind === 'Put' && r.level === row.level);
        if (put) {
            row.put_ratio = row.per_second / put.per_second;
            if (row.ours_per_second && put.ours_per_second) {
                row.ours_put_ratio = row.ours_per_second / put.ours_per_second;
            }
        }
    }
    return rows;
}

const COLUMNS = ['level', 'kind', 'succeeded', 'failed', 'seconds', 'per_second', 'mean_ms', 'p50_ms', 'p95_ms', 'p99_ms', 'max_ms',
    'caliper_tps', 'caliper_avg_ms', 'put_ratio', 'ours_per_second', 'ours_mean_ms', 'ours_p50_ms', 'ours_put_ratio', 'rate_ratio', 'p50_ratio'];

function csv(rows) {
    const cell = (v) => (v === undefined || Number.isNaN(v) ? '' : typeof v === 'number' ? String(Math.round(v * 1000) / 1000) : String(v));
    return [COLUMNS.join(','), ...rows.map((r) => COLUMNS.map((c) => cell(r[c])).join(','))].join('\n') + '\n';
}

function markdown(rows, compared) {
    const f = (v, digits = 1) => (v === undefined || Number.isNaN(v) ? '–' : v.toFixed(digits));
    const lines = [
        '| in flight | kind | tx/s | p50 ms | p95 ms | p99 ms | mean ms | Caliper TPS | Caliper avg ms | failed | PutEhr/Put |'
        + (compared ? ' ours tx/s | ours p50 ms | ours PutEhr/Put | tx/s Caliper/ours | p50 Caliper/ours |' : ''),
        '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|' + (compared ? '---:|---:|---:|---:|---:|' : ''),
    ];
    for (const r of rows) {
        let line = `| ${r.level} | ${r.kind} | ${f(r.per_second)} | ${f(r.p50_ms, 0)} | ${f(r.p95_ms, 0)} | ${f(r.p99_ms, 0)} | ${f(r.mean_ms, 0)} | ${f(r.caliper_tps)} | ${f(r.caliper_avg_ms, 0)} | ${r.failed} | ${f(r.put_ratio, 2)} |`;
        if (compared) {
            line += ` ${f(r.ours_per_second)} | ${f(r.ours_p50_ms, 0)} | ${f(r.ours_put_ratio, 2)} | ${f(r.rate_ratio, 2)} | ${f(r.p50_ratio, 2)} |`;
        }
        lines.push(line);
    }
    return lines.join('\n') + '\n';
}

/** Writes summary.json, summary.csv and summary.md into `out`; returns the markdown. */
function write(out, samplesDir, reportFile, oursCsv) {
    const report = fs.existsSync(reportFile) ? readReport(fs.readFileSync(reportFile, 'utf8')) : new Map();
    const ours = oursCsv ? readOurs(fs.readFileSync(oursCsv, 'utf8')) : undefined;
    const rows = summarize(readSamples(samplesDir), report, ours);
    fs.writeFileSync(path.join(out, 'summary.json'), JSON.stringify({ compared_with: oursCsv || null, rows }, null, 2));
    fs.writeFileSync(path.join(out, 'summary.csv'), csv(rows));
    const md = markdown(rows, Boolean(ours));
    fs.writeFileSync(path.join(out, 'summary.md'), md);
    return md;
}

module.exports = { percentile, figures, readReport, readOurs, summarize, csv, markdown, write };
