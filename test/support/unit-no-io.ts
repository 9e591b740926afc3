/**
 * The unit tier does no I/O beyond temporary files: while a test file in test/unit runs, starting
 * a process, listening on or connecting a socket, or sending a datagram throws, naming the call
 * and where such a test goes. The patched functions are Node's own module objects, which Jest
 * shares between the test files a worker runs, so they are restored after each file.
 */
// Default imports: Node's module objects themselves (a namespace import is a copy with getters).
import childProcess from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';

const WHERE =
  'unit tests (test/unit) do no I/O: a test that starts a server or a process or opens a socket ' +
  'belongs in test/integration (or another integration folder), a whole local run in test/e2e';

type Patch = { target: object; key: string; original: unknown };

const CHILD_PROCESS_CALLS = ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'];

function forbid(patches: Patch[], target: object, key: string, what: string): void {
  const original = Reflect.get(target, key);
  patches.push({ target, key, original });
  const replaced = Reflect.set(target, key, () => {
    throw new Error(`${what} was called: ${WHERE}`);
  });
  if (!replaced) throw new Error(`the unit tier's guard could not replace ${what}`);
}

const patches: Patch[] = [];

beforeAll(() => {
  for (const call of CHILD_PROCESS_CALLS) forbid(patches, childProcess, call, `child_process.${call}`);
  forbid(patches, net.Server.prototype, 'listen', 'net.Server#listen (a server)');
  forbid(patches, net.Socket.prototype, 'connect', 'net.Socket#connect (a TCP connection or HTTP request)');
  forbid(patches, dgram.Socket.prototype, 'bind', 'dgram.Socket#bind (a UDP socket)');
  forbid(patches, dgram.Socket.prototype, 'send', 'dgram.Socket#send (a UDP datagram)');
});

afterAll(() => {
  for (const { target, key, original } of patches.splice(0).reverse()) Reflect.set(target, key, original);
});

// A unit test that waits this long is waiting on something it should not.
jest.setTimeout(20_000);
