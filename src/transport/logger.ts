/**
 * The logging the transport needs: a structural subset of pino's API, so a
 * node passes its pino logger and tests pass a recorder or nothing.
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const ignore = (): void => undefined;

/** The default: links log nothing unless the caller asks. */
export const silentLogger: Logger = { debug: ignore, info: ignore, warn: ignore, error: ignore };
