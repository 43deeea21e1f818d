import type http from 'node:http';

/**
 * Loopback peer and loopback `Host`: the twin's own routes (`/status`, `/query`,
 * the dashboard) answer this machine only, and a DNS-rebound page (a foreign name
 * pointing at 127.0.0.1) is refused by its `Host`.
 */
export function isLocalRequest(req: http.IncomingMessage): boolean {
  const peer = req.socket.remoteAddress;
  if (peer !== '127.0.0.1' && peer !== '::1' && peer !== '::ffff:127.0.0.1') return false;
  const host = (req.headers.host ?? '').toLowerCase().replace(/:\d+$/, '');
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
}
