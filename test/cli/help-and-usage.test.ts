// Every command's --help (exit 0, every option it accepts listed), --version, a mistyped flag answered with the usage
// and the closest option (exit 2), and the exit codes docs/cli.md documents. The options a command accepts are read
// from the parseArgs call itself, so an option added without its help line fails here.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { main } from '../../src/cli/main.ts';
import { EXIT, closestFlag } from '../../src/cli/usage.ts';
import { cli, ROOT } from '../helpers/processes.ts';

const util = createRequire(import.meta.url)('node:util') as typeof import('node:util');
const realParseArgs = util.parseArgs;
let seenOptions: string[][] = [];

/** Runs main in this process and returns its exit code and what it printed. */
async function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' ')));
  try {
    const code = await main(argv);
    return { code, stdout: out.join('\n'), stderr: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

// Each command as a person types it, up to where its own options start.
const COMMANDS = [
  ['serve'],
  ['keygen'],
  ['submit'],
  ['prove'],
  ['recheck'],
  ['verifier'],
  ['verifier', 'keygen'],
  ['verifier', 'replay'],
  ['attest'],
  ['admin', 'task', 'add'],
  ['admin', 'verifier', 'add'],
  ['admin', 'verifier', 'update'],
  ['admin', 'verifier', 'revoke'],
  ['admin', 'verifier', 'list'],
  ['admin', 'jobs', 'list'],
  ['admin', 'jobs', 'requeue'],
  ['admin', 'jobs', 'close'],
  ['witness'],
  ['witness', 'keygen'],
  ['mirror'],
];

describe('proofboard --help, --version and usage errors', () => {
  beforeEach(() => {
    seenOptions = [];
    // Records the options every parseArgs call declares (node:util's ESM binding follows the CJS export once synced).
    util.parseArgs = ((config: Parameters<typeof realParseArgs>[0]) => {
      seenOptions.push(Object.keys(config?.options ?? {}));
      return realParseArgs(config);
    }) as typeof realParseArgs;
    syncBuiltinESMExports();
  });
  afterEach(() => {
    util.parseArgs = realParseArgs;
    syncBuiltinESMExports();
  });

  it.each(COMMANDS.map((c) => [c.join(' '), c]))('%s --help exits 0 and lists every option the command accepts', async (_, words) => {
    // An option no command has: the command parses its real option table, which the spy records, and refuses it.
    const refused = await run([...words, '--zz-no-such-option']);
    expect(refused.code).toBe(EXIT.usage);
    expect(refused.stderr).toMatch(/unknown option --zz-no-such-option/);
    const accepted = seenOptions.flat().filter((o) => o !== 'help');
    expect(seenOptions.length).toBeGreaterThan(0);

    const help = await run([...words, '--help']);
    expect(help.code).toBe(EXIT.ok);
    expect(help.stdout).toContain(`proofboard ${words[0]}`);
    for (const option of accepted) expect(help.stdout, `--${option} missing from ${words.join(' ')} --help`).toContain(`--${option}`);
    expect(await run([...words, '-h'])).toMatchObject({ code: EXIT.ok, stdout: help.stdout });
  });

  it('a mistyped flag gets the usage and the closest option, exit 2', async () => {
    const r = await run(['submit', '--taks', 'digits', '--metric', '1']);
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toContain('unknown option --taks (did you mean --task?)');
    expect(r.stderr).toMatch(/usage: proofboard submit/);
    const v = await run(['verifier', '--gpu', '1']);
    expect(v.stderr).toContain('(did you mean --gpus?)');
    // Far from every option: no guess, still the usage.
    const far = await run(['attest', '--colour']);
    expect(far.code).toBe(EXIT.usage);
    expect(far.stderr).not.toContain('did you mean');
    expect(far.stderr).toMatch(/usage: proofboard attest/);
  });

  it('a malformed recheck --log-key is a usage error (exit 2) before any request, not a discrepancy', async () => {
    for (const bad of ['not-a-key', 'proofboard.local/log+0123abcd+AAAA', '']) {
      const r = await run(['recheck', 'a'.repeat(64), '--server', 'http://127.0.0.1:9', '--log-key', bad]);
      expect(r.code, bad).toBe(EXIT.usage);
      expect(r.stderr, bad).toContain('--log-key is not a C2SP verifier key');
    }
  });

  it('key-file errors say what to do: no file (which keygen), a malformed one (named), the verifier key from its variable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'proofboard-keys-'));
    try {
      const missing = join(dir, 'none.json');
      const submit = await run(['submit', '--task', 'digits-mlp', '--metric', '1', '--key', missing, '--server', 'http://127.0.0.1:9']);
      expect(submit.code).toBe(EXIT.failed);
      expect(submit.stderr).toContain(`no key file at ${missing}: run \`proofboard keygen\``);
      const broken = join(dir, 'broken.json');
      writeFileSync(broken, '{"publicKey": "00"}', { mode: 0o600 });
      const bad = await run(['submit', '--task', 'digits-mlp', '--metric', '1', '--key', broken, '--server', 'http://127.0.0.1:9']);
      expect(bad.stderr).toContain(`${broken}: not a key file`);
      // The worker's default key is $PROOFBOARD_VERIFIER_KEY, read before anything else starts.
      const previous = process.env.PROOFBOARD_VERIFIER_KEY;
      process.env.PROOFBOARD_VERIFIER_KEY = join(dir, 'verifier.json');
      try {
        const worker = await run(['verifier', '--server', 'http://127.0.0.1:9', '--once']);
        expect(worker.code).toBe(EXIT.failed);
        expect(worker.stderr).toContain(`no key file at ${join(dir, 'verifier.json')}: run \`proofboard verifier keygen\``);
      } finally {
        if (previous === undefined) delete process.env.PROOFBOARD_VERIFIER_KEY;
        else process.env.PROOFBOARD_VERIFIER_KEY = previous;
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('suggests within two edits and by prefix, never a distant word', () => {
    const usage = '--task T --metric V --metric-name N --beats-parent --parent C --evidence F --server URL';
    expect(closestFlag('--metirc', usage)).toBe('--metric');
    expect(closestFlag('--evidense', usage)).toBe('--evidence');
    expect(closestFlag('--beats', usage)).toBe('--beats-parent');
    expect(closestFlag('--severs=x', usage)).toBe('--server');
    expect(closestFlag('--zebra', usage)).toBeNull();
  });

  it('--version prints the package version; no command is a usage error, an unknown one too', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(await run(['--version'])).toMatchObject({ code: EXIT.ok, stdout: `proofboard ${version}` });
    expect((await run([])).code).toBe(EXIT.usage);
    expect((await run(['--help'])).code).toBe(EXIT.ok);
    expect((await run(['sumbit'])).code).toBe(EXIT.usage);
  });

  it('the real binary: --version exits 0, a mistyped flag 2, an unreachable server 3 with the URL and a hint', async () => {
    const v = await cli(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^proofboard \d+\.\d+\.\d+/);
    const typo = await cli(['keygen', '--uot', '/tmp/x']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('did you mean --out?');
    // A port that was just free: nothing listens there, so the connection is refused at once.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const { port } = probe.address() as { port: number };
    await new Promise<void>((r) => probe.close(() => r()));
    const down = await cli(['admin', 'verifier', 'list', '--server', `http://127.0.0.1:${port}`]);
    expect(down.code).toBe(3);
    expect(down.stderr).toContain(`cannot reach http://127.0.0.1:${port} (ECONNREFUSED)`);
    expect(down.stderr).toContain('--server');
  });

  it('docs/cli.md documents the exit codes the code uses', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'cli.md'), 'utf8');
    for (const [name, code] of Object.entries(EXIT)) expect(doc, name).toMatch(new RegExp(`\\|\\s*${code}\\s*\\|`));
  });
});
