/**
 * The masking key of the WebSocket frames this code sends as a client (peer
 * links it dials, RingClient's connections): all zeros.
 *
 * RFC 6455 makes clients mask every frame so that a script in a browser
 * cannot make the bytes on the wire look like something a proxy would
 * cache or act on. These sockets are dialled by nodes and by server-side
 * clients with no hostile script to defend against, so the mask buys
 * nothing, and with a random key ws fills the key from a random pool and
 * copies and XORs every payload into a new buffer. A zero key is a valid
 * mask (the frame still has its mask bit and key), ws skips the XOR on both
 * sides, and the payload goes to the socket as it is.
 */
export function zeroMask(mask: Buffer): void {
  mask[0] = 0;
  mask[1] = 0;
  mask[2] = 0;
  mask[3] = 0;
}
