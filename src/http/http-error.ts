/**
 * The one error type that carries a client-facing answer. Anything thrown that is not an HttpError
 * is a fault of ours: it is logged and answered with a generic 500 that leaks nothing. A 5xx
 * HttpError is logged too, with its `cause`.
 */
export class HttpError extends Error {
  override name = 'HttpError';
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** More for the client beside `message`, such as the list of what was wrong in a batch. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    status: number,
    message: string,
    headers: Record<string, string> = {},
    options?: ErrorOptions & { details?: Record<string, unknown> },
  ) {
    super(message, options);
    this.status = status;
    this.headers = headers;
    this.details = options?.details ?? {};
  }
}
