'use strict';
// run.sh's helpers:
//   node lib/cli.js network <network.json> <dir>        Caliper network config + profiles; prints the identities (JSON)
//   node lib/cli.js setup <identities.json> <network id> the `ehrx admin setup` file registering them as uploaders
//   node lib/cli.js benchmark <options.json>            the benchmark configuration (JSON, which Caliper reads as YAML)
//   node lib/cli.js summary <out> <samples> <report.html> [throughput.csv]

const fs = require('fs');
const path = require('path');
const networkConfig = require('./network-config');
const { benchmark } = require('./benchmark');
const summary = require('./summary');

/** `ehrx admin setup`'s file: the network's id and every identity as an uploader. */
function setupFile(identities, networkId, adminMspId) {
    return {
        network: { network_id: networkId, rate_limit_max: 1, rate_limit_window_seconds: 60 },
        uploaders: identities.map(({ mspId, name }) => (mspId === adminMspId ? { user: name } : { org: mspId, user: name })),
    };
}

function main(argv) {
    const [command, ...args] = argv;
    switch (command) {
    case 'network': {
        const { identities } = networkConfig.write(args[0], args[1]);
        return JSON.stringify(identities);
    }
    case 'setup':
        return JSON.stringify(setupFile(JSON.parse(fs.readFileSync(args[0], 'utf8')), args[1], args[2]), null, 2);
    case 'benchmark': {
        const options = JSON.parse(fs.readFileSync(args[0], 'utf8'));
        return JSON.stringify(benchmark({ ...options, root: path.resolve(__dirname, '..') }), null, 2);
    }
    case 'summary':
        return summary.write(args[0], args[1], args[2], args[3]);
    default:
        throw new Error(`unknown command ${JSON.stringify(command)}: network, setup, benchmark or summary`);
    }
}

if (require.main === module) {
    try {
        process.stdout.write(main(process.argv.slice(2)) + '\n');
    } catch (error) {
        process.stderr.write(`error: ${error.message}\n`);
        process.exit(1);
    }
}

module.exports = { setupFile, main };
