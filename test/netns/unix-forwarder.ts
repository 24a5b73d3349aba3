/**
 * A tiny TCP forwarder for the network-namespace test: run inside a node's
 * namespace (`ip netns exec NS node unix-forwarder.js SOCK HOST PORT`), it
 * accepts connections on the Unix socket SOCK, which the test process in the
 * host's namespace can reach (Unix sockets live in the file system, not in a
 * network namespace), and pipes each one to HOST:PORT inside the namespace.
 * So the test talks to every node without giving the host an address on
 * the test network. Prints "ready" once listening.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';

const [sock, host, port] = process.argv.slice(2);
if (!sock || !host || !port) {
  process.stderr.write('usage: unix-forwarder SOCK HOST PORT\n');
  process.exit(2);
}
try {
  fs.unlinkSync(sock);
} catch {
  // not there: fine
}
const server = net.createServer((client) => {
  const upstream = net.connect(Number(port), host);
  client.pipe(upstream);
  upstream.pipe(client);
  const done = (): void => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', done);
  upstream.on('error', done);
  client.on('close', done);
  upstream.on('close', done);
});
server.listen(sock, () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
