// `proofboard witness`: run a C2SP tlog-witness for one or more logs (docs/transparency-log.md, "Running a witness"),
// and `proofboard witness keygen` to make its key.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { cosignerFromNoteSigner, formatCosignerKey, generateSignerKey, parseSignerKey, parseVerifierKey, type NoteVerifierKey } from '../log/index.ts';
import { startWitness } from '../witness/witness-server.ts';

export const USAGE = `usage: proofboard witness --key FILE --state FILE --log ORIGIN=VKEY [--log ...] [--listen HOST:PORT]
       proofboard witness keygen --name NAME --out FILE

Cosigns checkpoints of the named logs (C2SP tlog-witness, tlog-cosignature) only when they extend the one it
cosigned before; the state file is what it promised, keep it (and back it up) for as long as the witness lives.
  --key FILE         the witness's secret key (made by 'witness keygen'; mode 0600)
  --state FILE       the latest cosigned checkpoint per log (written atomically; created when missing)
  --log ORIGIN=VKEY  a log to witness: its origin line and its note verifier key (GET /v1/log/key of a proofboard
                     server); repeat for several logs. ORIGIN may be left out when it is the key's name.
  --listen HOST:PORT where to serve (default 127.0.0.1:7380; port 0 picks a free one)`;

export async function witnessCommand(argv: string[]): Promise<number> {
  if (argv[0] === 'keygen') return keygen(argv.slice(1));
  const { values } = parseArgs({
    args: argv,
    options: {
      key: { type: 'string' },
      state: { type: 'string' },
      log: { type: 'string', multiple: true },
      listen: { type: 'string', default: '127.0.0.1:7380' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.key || !values.state || !values.log?.length) {
    console.error(`proofboard witness: --key, --state and at least one --log are required\n\n${USAGE}`);
    return 2;
  }
  const logs = new Map<string, NoteVerifierKey[]>();
  for (const spec of values.log) {
    const eq = spec.indexOf('=');
    const plus = spec.indexOf('+');
    // An origin is given before the first '='; a bare vkey's first '=' is in its base64, after its '+'.
    const [origin, vkey] = eq > 0 && (plus < 0 || eq < plus) ? [spec.slice(0, eq), spec.slice(eq + 1)] : [undefined, spec];
    const key = parseVerifierKey(vkey);
    if (!key.ok) throw new Error(`--log ${spec}: not a log verifier key: ${key.detail}`);
    const o = origin ?? key.value.name;
    logs.set(o, [...(logs.get(o) ?? []), key.value]);
  }
  const cosigner = readWitnessKey(values.key);
  const [host, port] = splitListen(values.listen);
  const witness = await startWitness({ cosigner, logs, statePath: values.state, host, port, log: (l) => console.log(l) });
  console.log(`witness ${witness.vkey}`);
  console.log(`serving ${witness.url} for ${[...logs.keys()].join(', ')}`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await witness.close();
  return 0;
}

function splitListen(listen: string): [string, number] {
  const i = listen.lastIndexOf(':');
  const port = Number(listen.slice(i + 1));
  if (i < 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--listen ${listen}: expected HOST:PORT`);
  return [listen.slice(0, i).replace(/^\[|\]$/g, ''), port];
}

function readWitnessKey(path: string) {
  if (!existsSync(path)) throw new Error(`no witness key at ${path}: run \`proofboard witness keygen --name NAME --out ${path}\``);
  // A witness key readable by others lets them cosign forks in this witness's name.
  if (statSync(path).mode & 0o077) throw new Error(`${path}: key file must not be readable by group or others (chmod 600 ${path})`);
  const parsed = parseSignerKey(readFileSync(path, 'utf8').trim());
  if (!parsed.ok) throw new Error(`${path}: not a witness key: ${parsed.detail}`);
  return cosignerFromNoteSigner(parsed.value);
}

async function keygen(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { name: { type: 'string' }, out: { type: 'string' } } });
  if (!values.name || !values.out) {
    console.error('proofboard witness keygen: --name NAME (e.g. witness.example.org/w1) and --out FILE are required');
    return 2;
  }
  if (existsSync(values.out)) throw new Error(`${values.out} already exists; witness keygen never overwrites a key`);
  const { skey, signer } = generateSignerKey(values.name);
  mkdirSync(dirname(values.out), { recursive: true, mode: 0o700 });
  writeFileSync(values.out, `${skey}\n`, { mode: 0o600, flag: 'wx' });
  console.log(`wrote ${values.out}`);
  console.log(`witness vkey: ${formatCosignerKey(cosignerFromNoteSigner(signer))}`);
  console.log('publish it: readers pin it with recheck --witness, logs name it in PROOFBOARD_WITNESSES');
  return 0;
}
