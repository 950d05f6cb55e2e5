/** Where the client finds the gateway and how it proves who it is. */
export interface Target {
  url: string;
  apiKey: string | undefined;
}

/**
 * The gateway's URL: `--url`, else `A2A_GATEWAY_URL`, else the local gateway where HOST and PORT put it (a
 * wildcard host means this machine).
 */
export function defaultUrl(env: NodeJS.ProcessEnv): string {
  if (env.A2A_GATEWAY_URL) return env.A2A_GATEWAY_URL;
  let host = env.HOST && env.HOST !== '0.0.0.0' && env.HOST !== '::' ? env.HOST : '127.0.0.1';
  if (host.includes(':') && !host.startsWith('[')) host = `[${host}]`;
  return `http://${host}:${env.PORT || '8000'}`;
}
