/** An answer of the admin API, its body parsed when there is one. */
export interface ApiAnswer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers are read field by field in assertions
  body: any;
  /** The body as sent, for messages and for comparisons that must see every key. */
  text: string;
}

export interface ApiCallOptions {
  /** The bearer token; null sends none. The client's default token otherwise. */
  token?: string | null;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as it is, as JSON (keys such as `__proto__` reach the server as written). */
  raw?: string;
  headers?: Record<string, string>;
}

/** A client for the admin API at `base()` (read when called: the stack starts after the module loads). */
export function adminApiClient(base: () => string, defaultToken: string) {
  return async (method: string, path: string, options: ApiCallOptions = {}): Promise<ApiAnswer> => {
    const token = options.token === undefined ? defaultToken : options.token;
    const body = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    const response = await fetch(`${base()}${path}`, {
      method,
      headers: {
        ...(token !== null && { authorization: `Bearer ${token}` }),
        ...(body !== undefined && { 'content-type': 'application/json' }),
        ...options.headers,
      },
      ...(body !== undefined && { body }),
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: text ? JSON.parse(text) : undefined,
      text,
    };
  };
}
